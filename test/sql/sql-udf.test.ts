// test-lane: pair
/**
 * User-defined scalar functions: CREATE FUNCTION naming a JavaScript module (an ES module and a
 * CommonJS one, resolved from the SQL file's folder) runs in the workers at parallelism 1 and 3
 * and its results equal a reference computed here; a bad module path, a Java class name and
 * another LANGUAGE each get one line naming them (through the CLI: one line on stderr, no stack).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import { runJob } from '../../core/index.js';
import { readJsonLinesDir, writeJsonLines } from '../helpers/json-rows.js';
import { cliPath, repoRoot } from '../helpers/paths.js';
import { sqlRefusal } from '../helpers/sql-refusal.js';

const SQL_JOB = join(repoRoot, 'dist', 'core', 'sql', 'sql-job.js');
const WORDS = ['cocoa', 'banana', null, 'ccc', '', 'kiwi', 'cactus'];

describe('SQL user-defined functions', () => {
  const dir = mkdtempSync(join(tmpdir(), 'eddy-udf-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(
    join(dir, 'count.mjs'),
    "export default function count(s, c) { return s === null ? null : s.split(c).length - 1; }\ncount.resultType = 'BIGINT';\n",
  );
  writeFileSync(join(dir, 'shout.cjs'), "module.exports = (s) => s === null ? null : s.toUpperCase() + '!';\n");
  const rows = Array.from({ length: 60 }, (_, i) => ({ id: i, word: WORDS[i % WORDS.length] }));
  writeJsonLines(join(dir, 'in.jsonl'), rows);

  for (const parallelism of [1, 3]) {
    it(`CREATE FUNCTION modules run in the workers at parallelism ${parallelism}`, async () => {
      const out = join(dir, `out${parallelism}`);
      writeFileSync(
        join(dir, `q${parallelism}.sql`),
        `
CREATE FUNCTION count_char AS './count.mjs';
CREATE TEMPORARY FUNCTION shout AS './shout.cjs' LANGUAGE JAVASCRIPT;
CREATE TABLE src (id BIGINT, word VARCHAR) WITH ('connector' = 'filesystem', 'path' = '${dir}/in.jsonl', 'format' = 'json');
CREATE TABLE dst (id BIGINT, c BIGINT, loud VARCHAR) WITH ('connector' = 'filesystem', 'path' = '${out}', 'format' = 'json');
INSERT INTO dst SELECT id, count_char(word, 'c'), shout(word) FROM src WHERE count_char(word, 'c') <> 1 OR word IS NULL;`,
      );
      await runJob(SQL_JOB, { parallelism, args: { 'sql.file': join(dir, `q${parallelism}.sql`) } });
      const got = readJsonLinesDir(out).sort((a, b) => (a.id as number) - (b.id as number));
      // Reference: occurrences of 'c' counted by hand; NULL in, NULL out; a NULL count passes the OR.
      const occurrences = (w: string): number => [...w].filter((ch) => ch === 'c').length;
      const want = rows
        .filter((r) => r.word === null || occurrences(r.word) !== 1)
        .map((r) => ({
          id: r.id,
          c: r.word === null ? null : occurrences(r.word),
          loud: r.word === null ? null : `${r.word.toUpperCase()}!`,
        }));
      assert.ok(want.length > 20);
      assert.deepEqual(
        got.map((r) => ({ id: r.id, c: r.c ?? null, loud: r.loud ?? null })),
        want,
      );
    });
  }

  const failure = (sql: string) => sqlRefusal(sql, dir);

  it('a bad module, a Java class or another language is refused in one line naming it', () => {
    const missing = failure("CREATE FUNCTION f AS './nope.js';");
    assert.equal(missing.code, 'SQL_INVALID');
    assert.match(
      missing.message,
      /^SQL line 1, column 1: CREATE FUNCTION f: cannot load module .*nope\.js .*check the path, relative to the SQL file$/,
    );
    const java = failure("CREATE FUNCTION count_char AS 'com.github.nexmark.flink.udf.CountChar';");
    assert.equal(java.code, 'UNSUPPORTED');
    assert.match(java.message, /names a Java class; point it at a JavaScript module/);
    const lang = failure("CREATE FUNCTION f AS './count.mjs' LANGUAGE PYTHON;");
    assert.match(lang.message, /LANGUAGE PYTHON is not supported/);
    writeFileSync(join(dir, 'none.mjs'), 'export const x = 1;\n');
    assert.match(failure("CREATE FUNCTION f AS './none.mjs';").message, /has no default export that is a function/);
  });

  it('eddy sql prints the bad module path as one line on stderr', () => {
    writeFileSync(join(dir, 'bad.sql'), "CREATE FUNCTION f AS './missing-udf.js';\n");
    const r = spawnSync(process.execPath, [cliPath, 'sql', join(dir, 'bad.sql')], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 1);
    const lines = r.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, /^eddy: \[SQL_INVALID\] SQL line 1, column 1: CREATE FUNCTION f: cannot load module .*missing-udf\.js/);
  });
});
