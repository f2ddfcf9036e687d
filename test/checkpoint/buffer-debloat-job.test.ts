// Buffer debloating in real jobs under backpressure (the stage after the exchange spins per
// record, so without debloating the rings in front of it are full when barriers pass):
//   - exactly-once still holds with --buffer-debloat-target: five injected faults (a throwing
//     map, process.exit in a worker, a throwing snapshot, a throwing restore, a failing sink
//     pre-commit), committed output equal to the fault-free output, lost 0, duplicated 0;
//   - the in-flight data an unaligned barrier overtakes falls to about the target's worth of
//     the slow stage's throughput, against full rings without debloating.
// EDDY_SOAK=1 adds unaligned + debloating and parallelism 1 on lmdb to the fault runs.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runJob } from '../../core/index.js';
import type { RunOptions } from '../../core/runtime/options.js';
import { fixture } from '../helpers/paths.js';
import { compareWithFaultFree, readCommitted } from '../helpers/validating-output.js';
import { faultPlan } from '../helpers/fault-plan.js';
import { median } from '../../bench/stats.js';

const SOAK = process.env.EDDY_SOAK === '1';
const COUNT = 300_000;
const KEYS = 300;
const RING = 256 * 1024;

async function run(options: RunOptions, faults: string, count = COUNT) {
  const dir = mkdtempSync(join(tmpdir(), 'eddy-debloat-'));
  try {
    const result = await runJob(fixture('validating.mjs'), {
      mode: 'exactly-once',
      ringCapacity: RING,
      checkpointIntervalMs: 100,
      restart: 'fixed:10:10',
      ...options,
      args: { count: String(count), keys: String(KEYS), slowUs: '3', output: join(dir, 'out'), faults },
    });
    return { result, out: readCommitted(join(dir, 'out')) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('buffer debloating under backpressure', () => {
  const cases: [string, RunOptions, number][] = [
    ['aligned, parallelism 2, heap', { parallelism: 2, stateBackend: 'heap', bufferDebloatTargetMs: 20 }, 11],
    ...(SOAK
      ? ([
          ['unaligned, parallelism 3, heap', { parallelism: 3, stateBackend: 'heap', unaligned: true, bufferDebloatTargetMs: 20 }, 23],
          ['aligned, parallelism 1, lmdb', { parallelism: 1, stateBackend: 'lmdb', bufferDebloatTargetMs: 20 }, 37],
        ] as [string, RunOptions, number][])
      : []),
  ];
  for (const [label, options, seed] of cases) {
    it(`--buffer-debloat-target 20, ${label}, five faults: lost 0, duplicated 0`, async () => {
      const faults = faultPlan(seed);
      const { result, out } = await run(options, faults);
      assert.equal(result.restarts, 5, `all five faults fired (${faults})`);
      assert.deepEqual(compareWithFaultFree(out, COUNT, KEYS), { lost: 0, duplicated: 0, wrong: 0 }, `faults ${faults}`);
    });
  }

  it('an unaligned barrier overtakes about the target of in-flight data with debloating, full rings without', async () => {
    const inFlight = async (debloat: boolean) => {
      const { result, out } = await run(
        { parallelism: 2, unaligned: true, ...(debloat ? { bufferDebloatTargetMs: 10 } : {}) },
        '',
        200_000,
      );
      assert.deepEqual(compareWithFaultFree(out, 200_000, KEYS), { lost: 0, duplicated: 0, wrong: 0 });
      const steady = result.checkpoints.filter((c) => !c.final && c.unaligned).map((c) => c.inFlightBytes);
      assert.ok(steady.length >= 2, `enough checkpoints (${steady.length})`);
      return steady;
    };
    // Without: the most any barrier overtook (the first may come before the rings filled).
    const full = Math.max(...(await inFlight(false)));
    // With: the typical barrier once debloating has measured (the first may come before).
    const debloated = median((await inFlight(true)).slice(1));
    // Without: each slow task's two input rings (2 × 256 KiB) are mostly full at every barrier.
    assert.ok(full >= RING, `without debloating the rings are full: median ${full} bytes in flight`);
    assert.ok(debloated * 4 <= full, `debloating cut the in-flight data: median ${debloated} bytes against ${full}`);
  });
});
