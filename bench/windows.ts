/**
 * Windowed aggregation throughput: the same timestamped, keyed stream counted by a plain
 * keyed count (value state), a tumbling and a sliding event-time window (aggregate), at
 * parallelism 1, rounds alternating so all three see the same machine.
 */
import { fileURLToPath } from 'node:url';
import { runJob } from '../core/index.js';

const JOB = fileURLToPath(new URL('../../bench/jobs/windowed-count.mjs', import.meta.url));
const KINDS = ['none', 'tumbling', 'sliding'] as const;

export interface WindowsResult {
  records: number;
  keys: number;
  rounds: number;
  /** Median records/s per kind: none is the plain keyed count baseline. */
  recordsPerSec: Record<(typeof KINDS)[number], number>;
  runs: Record<(typeof KINDS)[number], number[]>;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function benchWindows(opts: { records: number; keys: number; rounds: number }): Promise<WindowsResult> {
  const runs = { none: [] as number[], tumbling: [] as number[], sliding: [] as number[] };
  for (const window of KINDS)
    await runJob(JOB, { parallelism: 1, args: { count: String(Math.min(opts.records, 100_000)), keys: String(opts.keys), window } });
  for (let r = 0; r < opts.rounds; r++) {
    for (const window of KINDS) {
      const res = await runJob(JOB, { parallelism: 1, args: { count: String(opts.records), keys: String(opts.keys), window } });
      const counted = res.operators.find((o) => o.uid === 'count')!.recordsIn;
      if (counted !== opts.records) throw new Error(`${window}: counted ${counted} of ${opts.records}`);
      runs[window].push(opts.records / (res.durationMs / 1000));
    }
  }
  return {
    records: opts.records,
    keys: opts.keys,
    rounds: opts.rounds,
    recordsPerSec: { none: median(runs.none), tumbling: median(runs.tumbling), sliding: median(runs.sliding) },
    runs,
  };
}
