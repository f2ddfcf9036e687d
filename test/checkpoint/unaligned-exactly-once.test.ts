// Unaligned checkpoints under backpressure and injected failures (after Flink's
// UnalignedCheckpointITCase): the stage after the exchange spins per record so the rings in
// front of it are full when barriers pass; five faults (a throwing map, process.exit in a
// worker, a throwing snapshot, a throwing restore, a failing sink pre-commit) restore from
// checkpoints that hold in-flight data. The committed output equals the fault-free output:
// lost 0, duplicated 0. The same with --aligned-checkpoint-timeout 10: checkpoints start
// aligned and are replaced by unaligned ones when still aligning. EDDY_SOAK=1 runs parallelism 1 and 3 on heap and lmdb, more seeds.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runJob } from '../../core/index.js';
import { fixture } from '../helpers/paths.js';
import { compareWithFaultFree, readCommitted } from '../helpers/validating-output.js';
import { faultPlan } from '../helpers/fault-plan.js';

const SOAK = process.env.EDDY_SOAK === '1';
const COUNT = 300_000;
const KEYS = 300; // a multiple of every parallelism used
const SLOW_US = '3';

async function run(parallelism: number, faults: string, stateBackend: 'heap' | 'lmdb', alignedTimeoutMs?: number) {
  const dir = mkdtempSync(join(tmpdir(), 'eddy-ua-'));
  try {
    const result = await runJob(fixture('validating.mjs'), {
      parallelism,
      mode: 'exactly-once',
      ...(alignedTimeoutMs === undefined ? { unaligned: true } : { alignedCheckpointTimeoutMs: alignedTimeoutMs }),
      ringCapacity: 64 * 1024,
      checkpointIntervalMs: 100,
      restart: 'fixed:10:10',
      stateBackend,
      args: { count: String(COUNT), keys: String(KEYS), slowUs: SLOW_US, output: join(dir, 'out'), faults },
    });
    return { result, out: readCommitted(join(dir, 'out')) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('unaligned checkpoints under backpressure and injected failures', () => {
  const cases: [number, 'heap' | 'lmdb', number][] = SOAK
    ? [1, 3].flatMap((p) =>
        (['heap', 'lmdb'] as const).flatMap((b) => [7, 19, 31].map((seed): [number, 'heap' | 'lmdb', number] => [p, b, seed])),
      )
    : [[3, 'heap', 7]];
  for (const [parallelism, backend, seed] of cases) {
    it(`--unaligned, parallelism ${parallelism}, --state ${backend}, seed ${seed}: lost 0, duplicated 0`, async () => {
      const faults = faultPlan(seed + parallelism);
      const { result, out } = await run(parallelism, faults, backend);
      assert.equal(result.restarts, 5, `all five faults fired (${faults})`);
      const unaligned = result.checkpoints.filter((c) => c.unaligned);
      assert.ok(
        unaligned.some((c) => c.inFlightBytes > 0),
        `some checkpoint stored in-flight data (the rings were full): ${JSON.stringify(result.checkpoints.map((c) => [c.id, c.unaligned, c.inFlightBytes]))}`,
      );
      assert.ok(
        result.checkpoints.every((c) => c.unaligned === !c.final),
        'every checkpoint unaligned except the final one (always aligned)',
      );
      assert.deepEqual(compareWithFaultFree(out, COUNT, KEYS), { lost: 0, duplicated: 0, wrong: 0 }, `faults ${faults}`);
    });
  }

  const timeoutCases: [number, 'heap' | 'lmdb', number][] = SOAK
    ? [1, 3].flatMap((p) => (['heap', 'lmdb'] as const).map((b): [number, 'heap' | 'lmdb', number] => [p, b, 43]))
    : [[1, 'lmdb', 43]];
  for (const [parallelism, backend, seed] of timeoutCases) {
    it(`--aligned-checkpoint-timeout 10, parallelism ${parallelism}, --state ${backend}, seed ${seed}: lost 0, duplicated 0`, async () => {
      const faults = faultPlan(seed + parallelism);
      const { result, out } = await run(parallelism, faults, backend, 10);
      assert.equal(result.restarts, 5, `all five faults fired (${faults})`);
      assert.ok(
        result.checkpoints.some((c) => c.unaligned),
        'some checkpoint switched to unaligned under backpressure',
      );
      assert.ok((result.checkpointsFailedByReason['aligned-timeout'] ?? 0) > 0, 'aligned checkpoints were replaced after the timeout');
      assert.deepEqual(compareWithFaultFree(out, COUNT, KEYS), { lost: 0, duplicated: 0, wrong: 0 }, `faults ${faults}`);
    });
  }
});
