/**
 * SQL tests that run several statements over JSON-lines tables as one job and compare each
 * statement's final table with a reference written in the test (sql-pushdown, sql-join-prune).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { runJob } from '../../core/index.js';
import { canonRows, changelogRows, writeJsonLines } from './json-rows.js';
import { repoRoot } from './paths.js';

const SQL_JOB = join(repoRoot, 'dist', 'core', 'sql', 'sql-job.js');

type Row = Record<string, unknown>;

/** One statement: the collect sink it writes (`name`, `cols`), the query, and the rows its final table must hold. */
export interface SqlCase {
  name: string;
  cols: string;
  sql: string;
  expected: Row[];
}

/**
 * Input tables made by `make`, written as JSON-lines files (`files` names them) into a
 * temporary folder for the enclosing describe block; `dir` and `data` are set before its
 * tests run, and the folder is removed after them.
 */
export function tablesInTempDir<T>(
  prefix: string,
  make: () => T,
  files: (data: T) => Record<string, readonly unknown[]>,
): { dir: string; data: T } {
  const fx = {} as { dir: string; data: T };
  before(() => {
    fx.dir = mkdtempSync(join(tmpdir(), prefix));
    fx.data = make();
    for (const [name, rows] of Object.entries(files(fx.data))) writeJsonLines(join(fx.dir, name), rows);
  });
  after(() => rmSync(fx.dir, { recursive: true, force: true }));
  return fx;
}

/**
 * Runs `ddl` and every case (each INSERT into a collect sink of its own) as one SQL job, and
 * asserts that each sink's rows (an updating query's changelog folded) are exactly the case's expected rows;
 * returns what each sink collected.
 */
export async function assertSqlCases(
  dir: string,
  ddl: string,
  cases: readonly SqlCase[],
  parallelism: number,
): Promise<Record<string, unknown[]>> {
  const script =
    ddl +
    cases.map((c) => `CREATE TABLE ${c.name} (${c.cols}) WITH ('connector' = 'collect');\nINSERT INTO ${c.name} ${c.sql};`).join('\n');
  writeFileSync(join(dir, 'q.sql'), script);
  const res = await runJob(SQL_JOB, { parallelism, args: { 'sql.file': join(dir, 'q.sql') } });
  for (const c of cases) {
    assert.ok(c.expected.length > 0, `${c.name}: the reference is not empty`);
    const got = res.collected[`sql-${c.name}-sink-1`] as Array<{ kind: string; row: Row } | Row> | undefined;
    assert.ok(got, `${c.name}: collected (${Object.keys(res.collected).join(', ')})`);
    // An append-only query's collect sink holds plain rows, an updating one's changes.
    const changes = got.map((x) => ('kind' in x && 'row' in x ? (x as { kind: string; row: Row }) : { kind: '+I', row: x }));
    assert.deepEqual(changelogRows(changes), canonRows(c.expected), c.name);
  }
  return res.collected;
}
