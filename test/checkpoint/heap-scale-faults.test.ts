// Exactly-once with heap state big enough that its snapshots are captured as typed arrays and
// packed on the packer thread (core/state/heap/snapshot-packer.ts), full and incremental:
// injected failures (a throwing map, a worker exit, a throwing snapshot, a failing restore, a
// failing commit) and kill -9 of the whole process with --resume latest. The committed output
// must equal the fault-free one, computed by a plain loop (lost 0, duplicated 0, wrong 0).
// 50k keys by default, injected failures with full snapshots and kill -9 with incremental
// ones; EDDY_SOAK=1 runs both kinds of fault for both at the size, 2M keys.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runJob } from '../../core/index.js';
import { PACK_OFF_THREAD_MIN_ENTRIES } from '../../core/state/heap/heap-snapshot.js';
import { fixture } from '../helpers/paths.js';
import { compareWithFaultFree, readCommitted } from '../helpers/validating-output.js';
import { faultPlan } from '../helpers/fault-plan.js';
import { runWithKills } from '../helpers/cli-faults.js';

const SOAK = process.env.EDDY_SOAK === '1';
const KEYS = SOAK ? 2_000_000 : 50_000;
const COUNT = SOAK ? 10_000_000 : 400_000;
const INTERVAL_MS = SOAK ? 1000 : 100;

describe('heap state packed off the loop: exactly-once under faults', () => {
  // Two value states per key: the snapshots hold 2 × KEYS entries, all numbers.
  assert.ok(2 * KEYS >= PACK_OFF_THREAD_MIN_ENTRIES);

  // The write log's overflow path (core/state/heap/write-log.ts): an interval with more writes
  // than the log keeps (1.5M in one record, past its 1M floor) drops that interval's log, so
  // the next checkpoint must be full and later deltas build on it. A delta taken anyway would
  // miss every write of that interval, and the restore after the failure would be wrong.
  it("incremental: an interval past the write log's bound, then a worker exit: lost 0, duplicated 0", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'eddy-heap-log-overflow-'));
    try {
      const count = 300_000;
      const keys = 50_000;
      const result = await runJob(fixture('validating.mjs'), {
        parallelism: 1,
        mode: 'exactly-once',
        checkpointIntervalMs: 100,
        incremental: true,
        stateBackend: 'heap',
        restart: 'fixed:3:10',
        // The burst follows the first completed checkpoint holding state; the worker exits
        // right after the next one completes, so the restore reads the checkpoint taken after the burst.
        args: { count: String(count), keys: String(keys), rate: '200000', output: join(dir, 'out'), burst: '1500000' },
      });
      assert.equal(result.restarts, 1, 'the worker exited once');
      assert.ok(
        (result.stateRestores ?? []).some((r) => r.filesRead >= 1),
        'the attempt after the exit restored keyed state from a checkpoint',
      );
      assert.deepEqual(compareWithFaultFree(readCommitted(join(dir, 'out')), count, keys), { lost: 0, duplicated: 0, wrong: 0 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  for (const incremental of [false, true]) {
    const label = incremental ? 'incremental' : 'full';
    const runs = (kind: 'faults' | 'kill') => SOAK || (kind === 'faults') !== incremental;
    if (runs('faults'))
      it(`${label}, ${KEYS} keys: five injected failures, lost 0, duplicated 0`, async () => {
        const dir = mkdtempSync(join(tmpdir(), 'eddy-heap-scale-'));
        try {
          const faults = faultPlan(incremental ? 181 : 18);
          const result = await runJob(fixture('validating.mjs'), {
            parallelism: 1,
            mode: 'exactly-once',
            checkpointIntervalMs: INTERVAL_MS,
            incremental,
            stateBackend: 'heap',
            restart: 'fixed:10:10',
            args: { count: String(COUNT), keys: String(KEYS), rate: '2000000', output: join(dir, 'out'), faults },
          });
          assert.equal(result.restarts, 5, `all five faults fired (${faults})`);
          assert.deepEqual(
            compareWithFaultFree(readCommitted(join(dir, 'out')), COUNT, KEYS),
            { lost: 0, duplicated: 0, wrong: 0 },
            `faults ${faults}`,
          );
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      });

    if (runs('kill'))
      it(`${label}, ${KEYS} keys: kill -9 at random moments and --resume latest, lost 0, duplicated 0`, async () => {
        const dir = mkdtempSync(join(tmpdir(), 'eddy-heap-scale-kill-'));
        try {
          const chk = join(dir, 'chk');
          const out = join(dir, 'out');
          const args = [
            'run',
            fixture('validating.mjs'),
            '--parallelism',
            '1',
            '--checkpoint-dir',
            chk,
            '--checkpoint-interval',
            String(INTERVAL_MS),
            '--no-progress',
            ...(incremental ? ['--incremental'] : []),
            '--arg',
            `count=${COUNT}`,
            '--arg',
            `keys=${KEYS}`,
            '--arg',
            'rate=400000',
            '--arg',
            `output=${out}`,
          ];
          const { killed, restored } = await runWithKills({ args, chk, seed: incremental ? 7 : 5, kills: 2 });
          assert.ok(killed >= 1 && restored >= 1, `the job was killed (${killed}) and resumed from a checkpoint (${restored})`);
          assert.deepEqual(compareWithFaultFree(readCommitted(out), COUNT, KEYS), { lost: 0, duplicated: 0, wrong: 0 });
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      });
  }
});
