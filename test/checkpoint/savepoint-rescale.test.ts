// Stop-with-savepoint at parallelism 4, then restore at 2 and at 3: every key's counter
// continues exactly where it stopped (the records before and after the savepoint together are
// each index once, with the per-key sequence a plain loop computes), union-list state reaches
// every new subtask whole, and split-list state is dealt out round-robin, each entry once.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runJob, type JobResult } from '../../core/index.js';
import { EddyError } from '../../core/failure.js';
import { fixture } from '../helpers/paths.js';
import { stopWithSavepointPartWay } from '../helpers/stop-part-way.js';
import { readCommitted as readCommittedAs } from '../helpers/validating-output.js';
import { committedRows } from '../helpers/wait.js';

const COUNT = 240_000;
const KEYS = 120; // a multiple of 4, 2 and 3: each key stays with one source subtask, in order
const JOB = fixture('rescale.mjs');

interface Out {
  i: number;
  key: number;
  seq: number;
}
interface Report {
  subtask: number;
  parallelism: number;
  union: { subtask: number; count: number }[];
  split: string[];
}

const readCommitted = (dir: string) => readCommittedAs<Out>(dir);
/** Records the sources read in a run (its last attempt). */
const readOf = (r: JobResult) => r.operators.find((o) => o.uid === 'events')!.recordsOut;

function readReports(path: string): Report[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Report);
}

/** Records of both runs: each index exactly once, each with the sequence number of its key. */
function checkContinuation(records: Out[]): void {
  const seen = new Set<number>();
  let duplicated = 0;
  let wrong = 0;
  for (const r of records) {
    if (seen.has(r.i)) duplicated++;
    seen.add(r.i);
    if (r.key !== r.i % KEYS || r.seq !== Math.floor(r.i / KEYS)) wrong++;
  }
  assert.equal(duplicated, 0, 'records duplicated across the savepoint');
  assert.equal(seen.size, COUNT, `records lost across the savepoint: ${COUNT - seen.size}`);
  assert.equal(wrong, 0, 'per-key counters did not continue exactly');
}

describe('stop-with-savepoint and restore at another parallelism', () => {
  const root = mkdtempSync(join(tmpdir(), 'eddy-rescale-'));
  let firstOut: string;
  let first: JobResult;
  let savepoint: string;

  before(async () => {
    // Stopped once a checkpoint has committed records (so the savepoint holds keyed, union and
    // split state of records read), slower each time the input (rate-limited) ends first.
    const stopped = await stopWithSavepointPartWay([80_000, 20_000, 5_000], (rate, attempt, signal) => {
      const out = join(root, `out-p4-${attempt}`);
      const checkpointDir = join(root, `chk-${attempt}`);
      const args = {
        count: String(COUNT),
        keys: String(KEYS),
        rate: String(rate),
        output: out,
        report: join(root, `report-p4-${attempt}`),
      };
      return {
        job: runJob(JOB, { parallelism: 4, checkpointDir, checkpointIntervalMs: 200, args }, { signal }),
        checkpointDir,
        ready: () => committedRows(out) > 0,
        // At most half the input read: the LMDB leg below stops part-way through the rest.
        leftEnough: (r) => readOf(r) <= COUNT / 2,
      };
    });
    first = stopped.result;
    savepoint = stopped.savepoint;
    firstOut = join(root, `out-p4-${stopped.attempt}`);
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('stops at the savepoint with everything before it committed', () => {
    assert.equal(first.stoppedWithSavepoint, savepoint);
    assert.equal(first.cancelled, false);
    const committed = readCommitted(firstOut);
    assert.ok(committed.length > 0 && committed.length < COUNT, `stopped part-way (${committed.length} of ${COUNT})`);
    // What the sinks committed is exactly what the sources had read at the savepoint.
    const read = readOf(first);
    assert.equal(committed.length, read);
  });

  for (const p of [2, 3]) {
    it(`restores at parallelism ${p}: counters continue, union state whole, split state dealt round-robin`, async () => {
      const out = join(root, `out-p${p}`);
      const report = join(root, `report-p${p}`);
      // A copy of the savepoint per restore, so one restore cannot affect the other.
      const copy = join(root, `savepoint-for-p${p}`);
      cpSync(savepoint, copy, { recursive: true });
      const result = await runJob(JOB, {
        parallelism: p,
        fromSavepoint: copy,
        checkpointIntervalMs: 200,
        args: { count: String(COUNT), keys: String(KEYS), output: out, report },
      });
      assert.equal(result.restoredFrom?.checkpointDir, copy);
      const before = readCommitted(firstOut);
      checkContinuation([...before, ...readCommitted(out)]);

      const reports = readReports(report).sort((a, b) => a.subtask - b.subtask);
      assert.deepEqual(
        reports.map((r) => r.subtask),
        [...Array(p).keys()],
        'every new subtask restored once',
      );
      for (const r of reports) {
        assert.equal(r.parallelism, p);
        assert.deepEqual(r.union.map((e) => e.subtask).sort(), [0, 1, 2, 3], 'union list: every old subtask entry');
        assert.equal(
          r.union.reduce((n, e) => n + e.count, 0),
          before.length,
          'union list: the counts of the records before the savepoint',
        );
      }
      const tokens = reports.flatMap((r) => r.split).sort();
      const expected = [0, 1, 2, 3].flatMap((s) => [0, 1, 2].map((k) => `${s}.${k}`)).sort();
      assert.deepEqual(tokens, expected, 'split list: each entry to exactly one subtask');
      const sizes = reports.map((r) => r.split.length);
      assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `split list dealt evenly: ${sizes}`);
    });
  }

  it('refuses state of a uid the job no longer has, unless --allow-non-restored-state', async () => {
    const args = {
      count: String(COUNT),
      keys: String(KEYS),
      output: join(root, 'out-renamed'),
      report: join(root, 'report-renamed'),
      tallyUid: 'tally-v2',
    };
    await assert.rejects(
      runJob(JOB, { parallelism: 2, fromSavepoint: savepoint, args }),
      (err: EddyError) =>
        err.code === 'STATE_NOT_RESTORED' && err.message.includes("'tally'") && err.message.includes('--allow-non-restored-state'),
    );
    const result = await runJob(JOB, { parallelism: 2, fromSavepoint: savepoint, allowNonRestoredState: true, args });
    assert.equal(result.cancelled, false);
    // The keyed counters still continue: only the renamed operator's state was dropped.
    checkContinuation([...readCommitted(firstOut), ...readCommitted(join(root, 'out-renamed'))]);
  });

  it('heap → lmdb → heap through savepoints: the state carries over exactly in both directions', async () => {
    const args = (output: string, rate?: number) => ({
      count: String(COUNT),
      keys: String(KEYS),
      output,
      report: join(root, 'report-migrate'),
      ...(rate ? { rate: String(rate) } : {}),
    });
    // The heap savepoint of the p4 run, restored into LMDB at parallelism 2 and stopped again
    // part-way: once it has committed records of its own.
    const middle = await stopWithSavepointPartWay([60_000, 15_000, 4_000], (rate, attempt, signal) => {
      const out = join(root, `out-lmdb-${attempt}`);
      const checkpointDir = join(root, `chk-lmdb-${attempt}`);
      const run = { parallelism: 2, stateBackend: 'lmdb' as const, fromSavepoint: savepoint, checkpointDir, checkpointIntervalMs: 200 };
      return {
        job: runJob(JOB, { ...run, args: args(out, rate) }, { signal }),
        checkpointDir,
        ready: () => committedRows(out) > 0,
        leftEnough: (r) => readCommitted(firstOut).length + readOf(r) < COUNT,
      };
    });
    const stopped = middle.result;
    assert.equal(stopped.stoppedWithSavepoint, middle.savepoint);
    const lmdbOut = join(root, `out-lmdb-${middle.attempt}`);
    const inLmdb = readCommitted(lmdbOut).length;
    assert.ok(inLmdb > 0 && readCommitted(firstOut).length + inLmdb < COUNT, `the lmdb run stopped part-way (${inLmdb} records)`);
    // ... and that LMDB savepoint back into the heap backend at parallelism 3, to the end.
    const heapOut = join(root, 'out-heap-again');
    await runJob(JOB, { parallelism: 3, stateBackend: 'heap', fromSavepoint: middle.savepoint, args: args(heapOut) });
    checkContinuation([...readCommitted(firstOut), ...readCommitted(lmdbOut), ...readCommitted(heapOut)]);
  });
});
