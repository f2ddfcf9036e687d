/**
 * Keyed count (generator → keyBy → count → discard) through the engine at parallelism 1, next
 * to the hand-written two-thread loop (same ring, same msgpackr, a Map, no engine), in the
 * same process, alternating runs so both see the same machine.
 */
import { fileURLToPath } from 'node:url';
import { runJob } from '../core/index.js';
import { twoThreadKeyedCount } from './baselines/two-thread-loop.js';

const JOB = fileURLToPath(new URL('../../bench/jobs/keyed-count.mjs', import.meta.url));

export interface KeyedCountResult {
  records: number;
  keys: number;
  rounds: number;
  engineRecordsPerSec: number;
  baselineRecordsPerSec: number;
  ratio: number;
  engineRuns: number[];
  baselineRuns: number[];
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function benchKeyedCount(opts: { records: number; keys: number; rounds: number }): Promise<KeyedCountResult> {
  const engine: number[] = [];
  const baseline: number[] = [];
  // One warm-up of each: JIT, module loading, page cache.
  await runJob(JOB, { parallelism: 1, args: { count: String(Math.min(opts.records, 200_000)), keys: String(opts.keys) } });
  await twoThreadKeyedCount(Math.min(opts.records, 200_000), opts.keys);
  for (let r = 0; r < opts.rounds; r++) {
    const res = await runJob(JOB, { parallelism: 1, args: { count: String(opts.records), keys: String(opts.keys) } });
    const counted = res.operators.find((o) => o.uid === 'count')!.recordsIn;
    if (counted !== opts.records) throw new Error(`engine counted ${counted} of ${opts.records}`);
    engine.push(opts.records / (res.durationMs / 1000));
    const b = await twoThreadKeyedCount(opts.records, opts.keys);
    baseline.push(opts.records / (b.ms / 1000));
  }
  const e = median(engine);
  const b = median(baseline);
  return { records: opts.records, keys: opts.keys, rounds: opts.rounds, engineRecordsPerSec: e, baselineRecordsPerSec: b, ratio: e / b, engineRuns: engine, baselineRuns: baseline };
}
