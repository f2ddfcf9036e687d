/**
 * The entry points: env.sql / env.sqlQuery mixed with DataStream operators in one job module,
 * EXPLAIN listing the operators with the uids the statement runs with, and a savepoint taken
 * from an `eddy sql` job restoring into the same script at another parallelism (uids derived
 * from the statement), the committed output being that of a run without a stop.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { runJob, StreamExecutionEnvironment } from '../../core/index.js';
import { cliPath, fixture } from '../helpers/paths.js';
import { canonRows, readJsonLinesDir } from '../helpers/json-rows.js';
import { startReachableCli } from '../helpers/cli-run.js';
import { committedRows, until } from '../helpers/wait.js';

describe('SQL entry points', () => {
  it('env.sql and env.sqlQuery mix with the DataStream API in one job', { timeout: 60_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'eddy-sql-mixed-'));
    try {
      const urls = ['/a', '/checkout', '/b', '/search?q=x', '/c'];
      const clicks = Array.from({ length: 60 }, (_, i) => ({ user_id: i % 4, url: urls[i % urls.length]!, ts: 1_000_000 + i * 97 }));
      writeFileSync(join(dir, 'clicks.jsonl'), clicks.map((c) => JSON.stringify(c)).join('\n'));
      await runJob(fixture('sql-mixed.mjs'), { parallelism: 2, args: { input: join(dir, 'clicks.jsonl'), output: join(dir, 'out') } });
      const long = clicks.filter((c) => c.url.length > 6).map((c) => ({ user_id: c.user_id, url: c.url }));
      assert.deepEqual(canonRows(readJsonLinesDir(join(dir, 'out', 'long'))), canonRows(long));
      const counts = new Map<string, { who: string; at: number; n: number }>();
      for (const c of clicks) {
        const at = Math.floor(c.ts / 1000) * 1000;
        const k = `${c.user_id}|${at}`;
        const e = counts.get(k) ?? { who: `user-${c.user_id}`, at, n: 0 };
        e.n++;
        counts.set(k, e);
      }
      assert.deepEqual(canonRows(readJsonLinesDir(join(dir, 'out', 'counts'))), canonRows([...counts.values()]));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('EXPLAIN prints each operator with the uid the statement runs with, and adds nothing to the job', () => {
    const env = new StreamExecutionEnvironment({});
    const results = env.sql(`
      CREATE TABLE t (a BIGINT, b VARCHAR, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '2' SECOND)
        WITH ('connector' = 'filesystem', 'path' = '/in.jsonl', 'format' = 'json');
      CREATE TABLE o (b VARCHAR, n BIGINT) WITH ('connector' = 'print');
      EXPLAIN INSERT INTO o SELECT b, COUNT(*) FROM TABLE(HOP(TABLE t, DESCRIPTOR(ts), INTERVAL '1' SECOND, INTERVAL '5' SECOND)) WHERE a > 0 GROUP BY b, window_start, window_end;
      INSERT INTO o SELECT b, COUNT(*) FROM TABLE(HOP(TABLE t, DESCRIPTOR(ts), INTERVAL '1' SECOND, INTERVAL '5' SECOND)) WHERE a > 0 GROUP BY b, window_start, window_end;
    `);
    const explain = results.find((r) => r.kind === 'explain');
    const pipeline = results.find((r) => r.kind === 'pipeline');
    assert.ok(explain?.kind === 'explain' && pipeline?.kind === 'pipeline');
    const lines = explain.plan.split('\n');
    assert.deepEqual(
      lines.map((l) => l.split(/\s+/)[0]),
      pipeline.uids,
      'the plan lists the uids the INSERT runs with',
    );
    assert.match(explain.plan, /^sql-o-source-1\s+source\s+filesystem table t, watermark ts - 2000 ms$/m);
    // The WHERE and the columns the window aggregate reads are one calc (calc.ts).
    assert.match(explain.plan, /^sql-o-calc-2\s+calc\s+where \(a > 0\); keep b, ts$/m);
    assert.match(explain.plan, /^sql-o-count-window-1\s+count-window\s+HOP size 5000 ms, slide 1000 ms by \[b\] aggregate COUNT$/m);
    assert.match(explain.plan, /^sql-o-sink-1\s+sink\s+print table o$/m);
  });

  it('a savepoint of an eddy sql job restores into the same script at another parallelism', { timeout: 120_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'eddy-sql-sp-'));
    const N = 12_000;
    try {
      const script = join(dir, 'windows.sql');
      writeFileSync(
        script,
        `
        CREATE TABLE gen (id BIGINT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '0' SECOND)
          WITH ('connector' = 'datagen', 'number-of-rows' = '\${rows}', 'rows-per-second' = '3000',
                'fields.id.kind' = 'sequence', 'fields.id.start' = '0', 'fields.id.end' = '${N - 1}');
        CREATE TABLE out (ws TIMESTAMP(3), n BIGINT, total BIGINT) WITH ('connector' = 'filesystem', 'path' = '${join(dir, 'out')}', 'format' = 'json');
        INSERT INTO out SELECT window_start, COUNT(*), SUM(id) FROM TABLE(TUMBLE(TABLE gen, DESCRIPTOR(ts), INTERVAL '100' MILLISECOND)) GROUP BY window_start, window_end;
      `,
      );
      const chk = join(dir, 'chk');
      const { exit } = await startReachableCli([
        'sql',
        script,
        '--parallelism',
        '2',
        '--checkpoint-dir',
        chk,
        '--checkpoint-interval',
        '200',
        '--no-progress',
        '--arg',
        `rows=${N}`,
      ]);
      // Stopped once a window is committed (a fixed 1.5 s stopped before any on a busy
      // machine); 12,000 rows at 3,000 per second leave most of the stream to the resumed job.
      await until('a committed window', () => committedRows(join(dir, 'out')) > 0);
      const stop = spawnSync(process.execPath, [cliPath, 'stop', '--with-savepoint', chk], { encoding: 'utf8', timeout: 60_000 });
      assert.equal(stop.status, 0, stop.stderr);
      const savepoint = stop.stdout.trim();
      const { code, stderr } = await exit;
      assert.equal(code, 0, stderr);
      const before = readJsonLinesDir(join(dir, 'out')).length;
      assert.ok(before > 0 && before < N / 100, `stopped part-way: ${before} windows`);

      const resumed = spawnSync(
        process.execPath,
        [
          cliPath,
          'sql',
          script,
          '--parallelism',
          '3',
          '--from-savepoint',
          savepoint,
          '--checkpoint-dir',
          join(dir, 'chk2'),
          '--checkpoint-interval',
          '200',
          '--no-progress',
          '--arg',
          `rows=${N}`,
        ],
        { encoding: 'utf8', timeout: 90_000 },
      );
      assert.equal(resumed.status, 0, resumed.stderr);
      assert.match(resumed.stderr, /restored checkpoint/);
      // The datagen timestamps are base + id ms, so window k holds ids 100k … 100k + 99.
      const base = Date.UTC(2015, 6, 15);
      const want = Array.from({ length: N / 100 }, (_, k) => ({ ws: base + k * 100, n: 100, total: 100 * 100 * k + 4950 }));
      assert.deepEqual(canonRows(readJsonLinesDir(join(dir, 'out'))), canonRows(want));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
