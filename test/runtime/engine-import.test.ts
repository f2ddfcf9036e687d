// test-lane: pair
/**
 * What a worker thread imports of the engine: every job module's `import 'eddy'` runs again in
 * each of the job's threads, so core/index.ts leaves out what a job's build does not need there.
 * SQL (about 55 modules) is loaded in a worker only when the main thread's build used it
 * (workers/bootstrap.ts reads the build notes), so a DataStream job's threads never import it,
 * and a job that calls env.sql still builds the same plan in each worker. The SQL API is
 * `eddy/sql`, which a job anywhere on disk imports as the same copy as `eddy`.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, it } from 'node:test';
import { isMainThread, threadId } from 'node:worker_threads';

import { runJob } from '../../core/index.js';
import { fixture, repoRoot } from '../helpers/paths.js';

const JOB = fixture('thread-sql.mjs');

interface Tagged {
  i: number;
  thread: number;
  sql: string;
}

async function tags(args: Record<string, string>): Promise<Tagged[]> {
  const res = await runJob(JOB, { args });
  return res.collected.collect as Tagged[];
}

describe('the engine a worker thread imports', () => {
  it('a DataStream job: its worker threads never load SQL', async () => {
    const rows = await tags({});
    assert.ok(isMainThread);
    // Every record was mapped in a worker (not here), and none of them saw env.sql there.
    assert.deepEqual(
      rows.map((r) => r.i).sort((a, b) => a - b),
      Array.from({ length: 100 }, (_, i) => i),
    );
    assert.ok(rows.every((r) => r.thread !== threadId));
    assert.deepEqual([...new Set(rows.map((r) => r.sql))], ['undefined']);
  });

  it('a job whose build calls env.sql: each worker loads SQL before its build, which runs the same DDL', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'eddy-engine-import-'));
    try {
      const rows = await tags({ sql: '1', dir });
      assert.equal(rows.length, 100);
      assert.deepEqual([...new Set(rows.map((r) => r.sql))], ['function']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("runJob's own thread loads SQL only for a build that calls env.sql, then builds that job", async () => {
    // A process of its own: this file's other tests load SQL here.
    const dir = mkdtempSync(join(tmpdir(), 'eddy-engine-import-'));
    try {
      const core = pathToFileURL(join(repoRoot, 'dist', 'core', 'index.js')).href;
      const script = `const eddy = await import(${JSON.stringify(core)});
        const sqlHere = () => typeof eddy.StreamExecutionEnvironment.prototype.sql;
        const plain = await eddy.runJob(${JSON.stringify(JOB)});
        console.log('datastream ' + plain.collected.collect.length + ' ' + sqlHere());
        const sql = await eddy.runJob(${JSON.stringify(JOB)}, { args: { sql: '1', dir: ${JSON.stringify(dir)} } });
        console.log('sql ' + sql.collected.collect.length + ' ' + sqlHere());`;
      const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
      assert.deepEqual(out.trim().split('\n'), ['datastream 100 undefined', 'sql 100 function']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("threads kept from a SQL job never serve a DataStream job (runJob's warm pool, core/runtime/pool.ts)", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'eddy-engine-import-'));
    try {
      const sql = await tags({ sql: '1', dir });
      const plain = await tags({});
      assert.deepEqual([...new Set(plain.map((r) => r.sql))], ['undefined']);
      const sqlThreads = new Set(sql.map((r) => r.thread));
      assert.deepEqual(
        plain.filter((r) => sqlThreads.has(r.thread)),
        [],
        'a DataStream job ran on a thread that loaded SQL',
      );
      // The SQL job's threads are kept for the next job that loads SQL.
      const again = await tags({ sql: '1', dir });
      assert.deepEqual([...new Set(again.map((r) => r.thread))].sort(), [...sqlThreads].sort());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  for (const ext of ['mjs', 'ts']) {
    it(`a .${ext} job outside the package imports 'eddy/sql': the function it registers is the one its SQL calls`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'eddy-engine-import-'));
      try {
        const input = join(dir, 'in.jsonl');
        writeFileSync(input, [1, 2, 3, 40].map((x) => JSON.stringify({ x })).join('\n'));
        const job = join(dir, `job.${ext}`);
        writeFileSync(
          job,
          [
            "import { defineJob, Sinks } from 'eddy';",
            "import { registerFunction } from 'eddy/sql';",
            'export default defineJob((env) => {',
            "  registerFunction('plus_one', (x) => (x === null ? null : x + 1), 'BIGINT');",
            `  env.sql(\`CREATE TABLE t (x BIGINT) WITH ('connector' = 'filesystem', 'path' = '${input}', 'format' = 'json')\`);`,
            "  env.sqlQuery('SELECT plus_one(x) AS y FROM t').sinkTo(Sinks.collect()).uid('collect');",
            '});',
          ].join('\n'),
        );
        const res = await runJob(job, { parallelism: 2 });
        const ys = (res.collected.collect as { y: number }[]).map((r) => Number(r.y)).sort((a, b) => a - b);
        assert.deepEqual(ys, [2, 3, 4, 41]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
