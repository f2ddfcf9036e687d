/**
 * Scaling: keyed count (checkpoints off) at parallelism 1..N, N = the cores available;
 * efficiency(p) = throughput(p) / (p × throughput(1)). Interleaved rounds, medians. At
 * parallelism p the job runs 2p task threads (sources and counts), so beyond N/2 the
 * threads share cores.
 */
import { availableParallelism } from 'node:os';
import { keyedCountRate } from './engine-run.js';
import { interleave, median } from './stats.js';

export interface ScalingResult {
  records: number;
  keys: number;
  rounds: number;
  cores: number;
  rows: { parallelism: number; recordsPerSec: number; speedup: number; efficiency: number; runs: number[] }[];
}

export async function benchScaling(opts: {
  records: number;
  keys: number;
  rounds: number;
  maxParallelism?: number;
}): Promise<ScalingResult> {
  const cores = availableParallelism();
  const ps = Array.from({ length: opts.maxParallelism ?? cores }, (_, i) => i + 1);
  for (const p of ps) await keyedCountRate(Math.min(opts.records, 200_000), opts.keys, { parallelism: p });
  const fns = Object.fromEntries(
    ps.map((p) => [`p${p}`, async () => (await keyedCountRate(opts.records, opts.keys, { parallelism: p })).recordsPerSec]),
  );
  const runs = await interleave(opts.rounds, fns);
  const base = median(runs.p1);
  return {
    ...opts,
    cores,
    rows: ps.map((p) => {
      const rps = median(runs[`p${p}`]);
      return { parallelism: p, recordsPerSec: rps, speedup: rps / base, efficiency: rps / (p * base), runs: runs[`p${p}`] };
    }),
  };
}

export function formatScaling(r: ScalingResult): string[] {
  return [
    `scaling: keyed count, checkpoints off, ${r.records.toLocaleString('en-US')} records, ${r.cores} cores, median of ${r.rounds}`,
    '  parallelism   records/s  speedup  efficiency',
    ...r.rows.map(
      (x) =>
        `  ${String(x.parallelism).padStart(11)}  ${Math.round(x.recordsPerSec).toLocaleString('en-US').padStart(10)}  ${x.speedup.toFixed(2).padStart(7)}  ${(x.efficiency * 100).toFixed(0).padStart(9)}%`,
    ),
  ];
}
