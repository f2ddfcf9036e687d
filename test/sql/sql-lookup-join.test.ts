/**
 * Lookup joins (`JOIN t FOR SYSTEM_TIME AS OF L.p AS S ON …`) over a bounded csv table, at
 * parallelism 1 and 3, against a reference written here from Flink's semantics: each left row
 * meets every table row with an equal key (and a true residual condition); an inner join drops
 * a left row without one, a LEFT join keeps it with the table's columns NULL; a NULL key never
 * matches. A lookup on a non-filesystem table is refused in one line.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import { runJob, StreamExecutionEnvironment } from '../../core/index.js';
import { EddyError } from '../../core/failure.js';
import { SqlSession } from '../../core/sql/session.js';
import { canonRows, readJsonLinesDir, writeJsonLines } from '../helpers/json-rows.js';
import { repoRoot } from '../helpers/paths.js';

const SQL_JOB = join(repoRoot, 'dist', 'core', 'sql', 'sql-job.js');

describe('SQL lookup join', () => {
  const dir = mkdtempSync(join(tmpdir(), 'eddy-lookup-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  // Side table: keys 0..9 except 3 and 7; key 5 twice (two matches); weights 1..n.
  const side: Array<{ k: number; label: string; w: number }> = [];
  for (let k = 0; k < 10; k++) if (k !== 3 && k !== 7) side.push({ k, label: `L${k}`, w: k % 4 });
  side.push({ k: 5, label: 'L5b', w: 9 });
  writeFileSync(join(dir, 'side.csv'), side.map((s) => `${s.k};${s.label};${s.w}`).join('\n') + '\n');
  const rows = Array.from({ length: 120 }, (_, i) => ({ id: i, g: i % 11 === 10 ? null : i % 11, amount: (i * 7) % 5 }));
  writeJsonLines(join(dir, 'in.jsonl'), rows);

  const reference = (left: boolean): Array<Record<string, unknown>> =>
    rows.flatMap((r): Array<Record<string, unknown>> => {
      const hits = side.filter((s) => r.g !== null && s.k === r.g && s.w <= r.amount + 1);
      if (hits.length === 0) return left ? [{ id: r.id, label: null, w: null }] : [];
      return hits.map((s) => ({ id: r.id, label: s.label, w: s.w }));
    });

  for (const parallelism of [1, 3]) {
    it(`inner drops, LEFT pads with NULLs, at parallelism ${parallelism}`, async () => {
      writeFileSync(
        join(dir, `q${parallelism}.sql`),
        `
CREATE TABLE src (id BIGINT, g INT, amount INT) WITH ('connector' = 'filesystem', 'path' = '${dir}/in.jsonl', 'format' = 'json');
CREATE TABLE side (k INT, label VARCHAR, w INT) WITH ('connector' = 'filesystem', 'path' = '${dir}/side.csv', 'format' = 'csv', 'csv.field-delimiter' = ';');
CREATE TABLE inner_out (id BIGINT, label VARCHAR, w INT) WITH ('connector' = 'filesystem', 'path' = '${dir}/inner${parallelism}', 'format' = 'json');
CREATE TABLE left_out (id BIGINT, label VARCHAR, w INT) WITH ('connector' = 'filesystem', 'path' = '${dir}/left${parallelism}', 'format' = 'json');
INSERT INTO inner_out SELECT B.id, S.label, S.w FROM (SELECT *, PROCTIME() AS p FROM src) B
  JOIN side FOR SYSTEM_TIME AS OF B.p AS S ON B.g = S.k AND S.w <= B.amount + 1;
INSERT INTO left_out SELECT B.id, S.label, S.w FROM (SELECT *, PROCTIME() AS p FROM src) B
  LEFT JOIN side FOR SYSTEM_TIME AS OF B.p AS S ON S.k = B.g AND S.w <= B.amount + 1;`,
      );
      await runJob(SQL_JOB, { parallelism, args: { 'sql.file': join(dir, `q${parallelism}.sql`) } });
      const norm = (rs: Array<Record<string, unknown>>): string[] =>
        canonRows(rs.map((r) => ({ id: r.id, label: r.label ?? null, w: r.w ?? null })));
      const inner = reference(false);
      const left = reference(true);
      assert.ok(inner.length > 30 && left.length > inner.length, 'the input has matches, misses and double matches');
      assert.deepEqual(norm(readJsonLinesDir(join(dir, `inner${parallelism}`))), norm(inner));
      assert.deepEqual(norm(readJsonLinesDir(join(dir, `left${parallelism}`))), norm(left));
    });
  }

  it('a key matches by value: dense and sparse integer keys, strings; a fraction or a negative number matches no integer key, "01" no "1"', async () => {
    const xs = [0, 2, 2.5, -1, 4, 9, 10, 19, 1e9, null, 4];
    const strs = ['1', '01', 'x', '', null];
    const left = xs.map((x, i) => ({ id: i, x, s: strs[i % strs.length] }));
    writeJsonLines(join(dir, 'keys.jsonl'), left);
    // dense: 0 … 9 without 3; sparse: 0 and 1,000,000; str: VARCHAR keys.
    const dense = [0, 1, 2, 4, 5, 6, 7, 8, 9];
    const sparse = [0, 1_000_000];
    const str = ['1', 'x', '10'];
    writeFileSync(join(dir, 'dense.csv'), dense.map((k) => `${k},d${k}`).join('\n') + '\n');
    writeFileSync(join(dir, 'sparse.csv'), sparse.map((k) => `${k},s${k}`).join('\n') + '\n');
    writeFileSync(join(dir, 'str.csv'), str.map((k) => `${k},t${k}`).join('\n') + '\n');
    const table = (name: string, type: string): string =>
      `CREATE TABLE ${name} (k ${type}, v VARCHAR) WITH ('connector' = 'filesystem', 'path' = '${dir}/${name}.csv', 'format' = 'csv');`;
    const out = (name: string): string =>
      `CREATE TABLE ${name}_out (id BIGINT, v VARCHAR) WITH ('connector' = 'filesystem', 'path' = '${dir}/out-${name}', 'format' = 'json');`;
    const insert = (name: string, col: string): string =>
      `INSERT INTO ${name}_out SELECT B.id, S.v FROM (SELECT *, PROCTIME() AS p FROM keys) B JOIN ${name} FOR SYSTEM_TIME AS OF B.p AS S ON B.${col} = S.k;`;
    writeFileSync(
      join(dir, 'keys.sql'),
      [
        `CREATE TABLE keys (id BIGINT, x DOUBLE, s VARCHAR) WITH ('connector' = 'filesystem', 'path' = '${dir}/keys.jsonl', 'format' = 'json');`,
        table('dense', 'INT'),
        table('sparse', 'BIGINT'),
        table('str', 'VARCHAR'),
        out('dense'),
        out('sparse'),
        out('str'),
        insert('dense', 'x'),
        insert('sparse', 'x'),
        insert('str', 's'),
      ].join('\n'),
    );
    await runJob(SQL_JOB, { parallelism: 1, args: { 'sql.file': join(dir, 'keys.sql') } });
    // SQL's =: numbers by value (2.5 equals no integer), strings exactly ('01' is not '1'), NULL never.
    const ref = <K>(keys: K[], prefix: string, col: 'x' | 's'): Array<Record<string, unknown>> =>
      left.flatMap((r) => keys.filter((k) => r[col] !== null && r[col] === k).map((k) => ({ id: r.id, v: `${prefix}${String(k)}` })));
    const got = (name: string): string[] => canonRows(readJsonLinesDir(join(dir, `out-${name}`)).map((r) => ({ id: r.id, v: r.v })));
    const want = { dense: ref(dense, 'd', 'x'), sparse: ref(sparse, 's', 'x'), str: ref(str, 't', 's') };
    assert.ok(want.dense.length === 5 && want.sparse.length === 1 && want.str.length === 5, JSON.stringify(want));
    for (const name of ['dense', 'sparse', 'str'] as const) assert.deepEqual(got(name), canonRows(want[name]), name);
  });

  it('a lookup on a table that is not a bounded file is refused in one line', () => {
    try {
      new SqlSession(new StreamExecutionEnvironment({})).execute(`
CREATE TABLE src (id BIGINT) WITH ('connector' = 'filesystem', 'path' = '/nonexistent.jsonl', 'format' = 'json');
CREATE TABLE gen (k BIGINT) WITH ('connector' = 'datagen');
CREATE TABLE o (id BIGINT, k BIGINT) WITH ('connector' = 'blackhole');
INSERT INTO o SELECT B.id, S.k FROM (SELECT *, PROCTIME() AS p FROM src) B JOIN gen FOR SYSTEM_TIME AS OF B.p AS S ON B.id = S.k;`);
      assert.fail('expected a refusal');
    } catch (err) {
      assert.ok(err instanceof EddyError, String(err));
      assert.equal(err.code, 'UNSUPPORTED');
      assert.equal(err.message.split('\n').length, 1);
      assert.match(err.message, /lookup join on 'gen' \(connector 'datagen'\): only a bounded 'filesystem' table/);
    }
  });
});
