/**
 * Processing-time windows in SQL (Flink's PROCTIME() attribute): TUMBLE, HOP and CUMULATE over
 * `p AS PROCTIME()` on a paced datagen source. Which window a row lands in depends on when it is
 * processed, so nothing here depends on timing luck: every window is aligned to the wall clock
 * by its size (or slide), lies inside the run's wall-clock span, and over the windows each row
 * is counted exactly as often as Flink's definitions say (TUMBLE once, HOP size/slide times,
 * CUMULATE once in its full-size window) — totals and id sums checked against a reference
 * computed here from the generator's sequence. Across a failure (a user function that throws
 * once, exactly-once checkpoints, a restart) every row is still counted exactly once.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import { runJob } from '../../core/index.js';
import { readJsonLinesDir } from '../helpers/json-rows.js';
import { repoRoot } from '../helpers/paths.js';
import { sqlRefusal } from '../helpers/sql-refusal.js';

const SQL_JOB = join(repoRoot, 'dist', 'core', 'sql', 'sql-job.js');
/** Rows and pace: 500 rows at 400/s span at least 1.25 s of wall clock, so several 500 ms windows. */
const N = 500;
const RATE = 400;
const KEYS = 3;

type Row = Record<string, unknown>;

/** Per key: rows and the sum of their ids, from the generator's sequence 0 … N-1 with k = id % KEYS. */
function reference(): Map<number, { c: number; s: number }> {
  const m = new Map<number, { c: number; s: number }>();
  for (let id = 0; id < N; id++) {
    const e = m.get(id % KEYS) ?? m.set(id % KEYS, { c: 0, s: 0 }).get(id % KEYS)!;
    e.c++;
    e.s += id;
  }
  return m;
}

/** Per key over `rows`: counts and id sums, each multiplied out by `times` of the reference. */
function totals(rows: Row[]): Map<number, { c: number; s: number }> {
  const m = new Map<number, { c: number; s: number }>();
  for (const r of rows) {
    const e = m.get(r.k as number) ?? m.set(r.k as number, { c: 0, s: 0 }).get(r.k as number)!;
    e.c += r.c as number;
    e.s += r.s as number;
  }
  return m;
}

function scaled(m: Map<number, { c: number; s: number }>, times: number): Array<[number, { c: number; s: number }]> {
  return [...m].map(([k, v]): [number, { c: number; s: number }] => [k, { c: v.c * times, s: v.s * times }]).sort((a, b) => a[0] - b[0]);
}
const sortedTotals = (m: Map<number, { c: number; s: number }>) => [...m].sort((a, b) => a[0] - b[0]);

/** Every window: the given length(s), its start a multiple of `align`, and inside the run's wall-clock span. */
function checkWindows(rows: Row[], lengths: number[], align: number, t0: number, t1: number, what: string): void {
  assert.ok(rows.length > 0, `${what}: windows were emitted`);
  for (const r of rows) {
    const [ws, we] = [r.window_start as number, r.window_end as number];
    assert.ok(lengths.includes(we - ws), `${what}: window [${ws}, ${we}) is ${we - ws} ms long, expected ${lengths.join(' or ')}`);
    assert.equal(ws % align, 0, `${what}: window start ${ws} is aligned to ${align} ms of the wall clock`);
    // A row processed at time t lies in [start, end): a window holding rows of this run ends after t0 and starts before t1.
    assert.ok(we > t0 && ws <= t1, `${what}: window [${ws}, ${we}) overlaps the run [${t0}, ${t1}]`);
  }
}

const SOURCE = (extra = '') => `
CREATE TABLE src (id BIGINT, k AS id % ${KEYS}, p AS PROCTIME()${extra}) WITH (
  'connector' = 'datagen', 'rows-per-second' = '${RATE}', 'number-of-rows' = '${N}', 'fields.id.kind' = 'sequence', 'fields.id.start' = '0', 'fields.id.end' = '${N - 1}');`;
const SINK = (name: string, path: string) => `
CREATE TABLE ${name} (k BIGINT, c BIGINT, s BIGINT, window_start TIMESTAMP(3), window_end TIMESTAMP(3)) WITH ('connector' = 'filesystem', 'path' = '${path}', 'format' = 'json');`;
const AGG = (tvf: string) =>
  `SELECT k, COUNT(*) AS c, SUM(id) AS s, window_start, window_end FROM TABLE(${tvf}) GROUP BY k, window_start, window_end`;

describe('SQL processing-time windows', () => {
  const dir = mkdtempSync(join(tmpdir(), 'eddy-proctime-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('TUMBLE, HOP and CUMULATE over PROCTIME(): wall-clock aligned windows counting each row as Flink defines (parallelism 2)', async () => {
    const out = (n: string) => join(dir, n);
    writeFileSync(
      join(dir, 'windows.sql'),
      `${SOURCE()}
${SINK('tumble', out('tumble'))}
${SINK('hop', out('hop'))}
${SINK('cumulate', out('cumulate'))}
CREATE TABLE raw (id BIGINT, p TIMESTAMP(3)) WITH ('connector' = 'filesystem', 'path' = '${out('raw')}', 'format' = 'json');
INSERT INTO tumble ${AGG("TUMBLE(TABLE src, DESCRIPTOR(p), INTERVAL '500' MILLISECOND)")};
INSERT INTO hop ${AGG("HOP(TABLE src, DESCRIPTOR(p), INTERVAL '250' MILLISECOND, INTERVAL '1' SECOND)")};
INSERT INTO cumulate ${AGG("CUMULATE(TABLE src, DESCRIPTOR(p), INTERVAL '250' MILLISECOND, INTERVAL '500' MILLISECOND)")};
INSERT INTO raw SELECT id, p FROM src;`,
    );
    const t0 = Date.now();
    await runJob(SQL_JOB, { parallelism: 2, args: { 'sql.file': join(dir, 'windows.sql') } });
    const t1 = Date.now();
    const ref = reference();

    const tumble = readJsonLinesDir(out('tumble'));
    checkWindows(tumble, [500], 500, t0, t1, 'TUMBLE');
    assert.deepEqual(sortedTotals(totals(tumble)), scaled(ref, 1), 'TUMBLE: every row counted once');
    assert.ok(new Set(tumble.map((r) => r.window_start)).size >= 2, 'TUMBLE: the paced rows (≥ 1.25 s) span several 500 ms windows');

    const hop = readJsonLinesDir(out('hop'));
    checkWindows(hop, [1000], 250, t0, t1, 'HOP');
    assert.deepEqual(sortedTotals(totals(hop)), scaled(ref, 4), 'HOP 1 s / 250 ms: every row counted in 4 windows');

    const cumulate = readJsonLinesDir(out('cumulate'));
    checkWindows(cumulate, [250, 500], 250, t0, t1, 'CUMULATE');
    for (const r of cumulate) assert.equal((r.window_start as number) % 500, 0, 'CUMULATE: windows start at multiples of the max size');
    assert.deepEqual(
      sortedTotals(totals(cumulate.filter((r) => (r.window_end as number) - (r.window_start as number) === 500))),
      scaled(ref, 1),
      'CUMULATE: every row counted once in its full window',
    );
    // A row in the first step of its period is in both windows; a first-step window never counts more than its full window.
    // A window can fire twice: a row processed in its last millisecond, after its timer fired, fires it again (as Flink's
    // ProcessingTimeTrigger, whose timer is at the window's last millisecond), so counts are summed per key and window.
    const perWindow = new Map<string, Row>();
    for (const r of cumulate) {
      const id = `${r.k}@${r.window_start}@${r.window_end}`;
      const e = perWindow.get(id);
      perWindow.set(id, e === undefined ? { ...r } : { ...e, c: (e.c as number) + (r.c as number) });
    }
    const merged = [...perWindow.values()];
    const full = new Map(
      merged
        .filter((r) => (r.window_end as number) - (r.window_start as number) === 500)
        .map((r) => [`${r.k}@${r.window_start}`, r.c as number]),
    );
    for (const r of merged.filter((x) => (x.window_end as number) - (x.window_start as number) === 250)) {
      assert.ok(
        (full.get(`${r.k}@${r.window_start}`) ?? 0) >= (r.c as number),
        `CUMULATE: the first step is part of the full window: ${JSON.stringify(r)}`,
      );
    }

    // The attribute read as a value: the wall clock when the row was computed (TIMESTAMP_LTZ).
    const raw = readJsonLinesDir(out('raw'));
    assert.equal(raw.length, N);
    for (const r of raw)
      assert.ok((r.p as number) >= t0 && (r.p as number) <= t1, `p of row ${r.id} (${r.p}) is a time of the run [${t0}, ${t1}]`);
  });

  it('across a failure and restart (exactly-once): every row is counted exactly once', async () => {
    const out = join(dir, 'fault');
    const marker = join(dir, 'failed-once');
    // Throws on row 300 the first time only (the marker file outlives the restart).
    writeFileSync(
      join(dir, 'fail-once.cjs'),
      `const fs = require('node:fs');
module.exports = (id) => { if (id === 300 && !fs.existsSync(${JSON.stringify(marker)})) { fs.writeFileSync(${JSON.stringify(marker)}, ''); throw new Error('injected failure at row 300'); } return id; };
module.exports.resultType = 'BIGINT';\n`,
    );
    writeFileSync(
      join(dir, 'fault.sql'),
      `CREATE FUNCTION fail_once AS './fail-once.cjs';
${SOURCE()}
${SINK('dst', out)}
INSERT INTO dst SELECT k, COUNT(*) AS c, SUM(fail_once(id)) AS s, window_start, window_end FROM TABLE(TUMBLE(TABLE src, DESCRIPTOR(p), INTERVAL '500' MILLISECOND)) GROUP BY k, window_start, window_end;`,
    );
    const t0 = Date.now();
    const res = await runJob(SQL_JOB, {
      parallelism: 2,
      mode: 'exactly-once',
      checkpointIntervalMs: 100,
      checkpointDir: join(dir, 'chk'),
      restart: 'fixed:3:50',
      args: { 'sql.file': join(dir, 'fault.sql') },
    });
    const t1 = Date.now();
    assert.ok(existsSync(marker), 'the injected failure happened');
    assert.equal(res.restarts, 1, 'one restart');
    const restored = (res.stateRestores ?? []).filter((r) => r.uid.includes('-window-'));
    assert.ok(
      restored.length > 0,
      `the restart restored the window operator's state from a checkpoint (restores: ${JSON.stringify(res.stateRestores)})`,
    );
    const rows = readJsonLinesDir(out);
    checkWindows(rows, [500], 500, t0, t1, 'TUMBLE after a restart');
    assert.deepEqual(sortedTotals(totals(rows)), scaled(reference(), 1), 'every row counted once across the restore');
  });

  it('refuses a window over a TIMESTAMP that is no time attribute, and a window join of processing-time windows', () => {
    const plain = sqlRefusal(`CREATE TABLE t (id BIGINT, ts TIMESTAMP(3)) WITH ('connector' = 'datagen', 'number-of-rows' = '1');
INSERT INTO t SELECT id, window_start FROM TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '1' SECOND));`);
    assert.match(
      plain.message,
      /'ts' is not a time attribute; declare WATERMARK FOR ts AS … in its table, or use a processing-time column \(ts AS PROCTIME\(\)\)/,
    );
    const join = sqlRefusal(`CREATE TABLE t (id BIGINT, p AS PROCTIME()) WITH ('connector' = 'datagen', 'number-of-rows' = '1');
CREATE TABLE o (id BIGINT) WITH ('connector' = 'blackhole');
INSERT INTO o SELECT a.id FROM (SELECT id, window_start, window_end FROM TABLE(TUMBLE(TABLE t, DESCRIPTOR(p), INTERVAL '1' SECOND)) GROUP BY id, window_start, window_end) a
JOIN (SELECT id, window_start, window_end FROM TABLE(TUMBLE(TABLE t, DESCRIPTOR(p), INTERVAL '1' SECOND)) GROUP BY id, window_start, window_end) b
ON a.id = b.id AND a.window_start = b.window_start AND a.window_end = b.window_end;`);
    assert.match(join.message, /window join of processing-time windows/);
  });
});
