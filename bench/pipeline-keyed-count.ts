/**
 * Keyed count (generator → keyBy → count → discard) through the engine at parallelism 1 and 2,
 * with checkpointing off and exactly-once at 1 s, next to four baselines doing the same work:
 *   (a) two-thread loop: a producer worker, our ring, msgpackr batches, a Map (the practical limit);
 *   (b) single-thread plain loop (no threads, no serialization);
 *   (c) Node streams object-mode pipeline;
 *   (d) postMessage worker pipeline (structured clone instead of ring + msgpackr).
 * All in the same process, round-robin with a rotating start, medians over the rounds.
 */
import { twoThreadKeyedCount } from './baselines/two-thread-loop.js';
import { singleThreadKeyedCount } from './baselines/single-thread-loop.js';
import { nodeStreamsKeyedCount } from './baselines/node-streams.js';
import { postMessageKeyedCount } from './baselines/postmessage-pipeline.js';
import { keyedCountRate } from './engine-run.js';
import { interleave, median } from './stats.js';

export interface KeyedCountOptions {
  records: number;
  keys: number;
  rounds: number;
  /** Checkpoint interval of the exactly-once engine runs. */
  intervalMs: number;
}

export interface KeyedCountEntry {
  name: string;
  label: string;
  kind: 'engine' | 'baseline';
  recordsPerSec: number;
  /** recordsPerSec / the two-thread loop's median. */
  ratioToTwoThread: number;
  runs: number[];
}

export interface KeyedCountResult extends KeyedCountOptions {
  entries: KeyedCountEntry[];
}

const rate = (records: number, ms: number) => records / (ms / 1000);

export async function benchKeyedCount(opts: KeyedCountOptions): Promise<KeyedCountResult> {
  const { records, keys } = opts;
  const eo = { mode: 'exactly-once' as const, checkpointIntervalMs: opts.intervalMs };
  const runners = {
    'engine-p1-none': async () => (await keyedCountRate(records, keys, { parallelism: 1 })).recordsPerSec,
    'engine-p1-eo': async () => (await keyedCountRate(records, keys, { parallelism: 1, ...eo })).recordsPerSec,
    'engine-p2-none': async () => (await keyedCountRate(records, keys, { parallelism: 2 })).recordsPerSec,
    'engine-p2-eo': async () => (await keyedCountRate(records, keys, { parallelism: 2, ...eo })).recordsPerSec,
    'two-thread-loop': async () => rate(records, (await twoThreadKeyedCount(records, keys)).ms),
    'single-thread-loop': async () => rate(records, singleThreadKeyedCount(records, keys).ms),
    'node-streams': async () => rate(records, (await nodeStreamsKeyedCount(records, keys)).ms),
    'postmessage-workers': async () => rate(records, (await postMessageKeyedCount(records, keys)).ms),
  };
  const labels: Record<keyof typeof runners, string> = {
    'engine-p1-none': 'eddy, parallelism 1, checkpoints off',
    'engine-p1-eo': `eddy, parallelism 1, exactly-once ${opts.intervalMs} ms`,
    'engine-p2-none': 'eddy, parallelism 2, checkpoints off',
    'engine-p2-eo': `eddy, parallelism 2, exactly-once ${opts.intervalMs} ms`,
    'two-thread-loop': '(a) two-thread loop: ring + msgpackr + Map',
    'single-thread-loop': '(b) single-thread plain loop',
    'node-streams': '(c) Node streams, object mode',
    'postmessage-workers': '(d) postMessage worker pipeline',
  };
  // Warm-up of every runner: JIT, module loading, worker start-up paths.
  const warm = Math.min(records, 200_000);
  await keyedCountRate(warm, keys, { parallelism: 1, ...eo });
  await keyedCountRate(warm, keys, { parallelism: 2, ...eo });
  await twoThreadKeyedCount(warm, keys);
  singleThreadKeyedCount(warm, keys);
  await nodeStreamsKeyedCount(warm, keys);
  await postMessageKeyedCount(warm, keys);

  const runs = await interleave(opts.rounds, runners);
  const limit = median(runs['two-thread-loop']);
  const entries = (Object.keys(runners) as (keyof typeof runners)[]).map((name): KeyedCountEntry => ({
    name,
    label: labels[name],
    kind: name.startsWith('engine') ? 'engine' : 'baseline',
    recordsPerSec: median(runs[name]),
    ratioToTwoThread: median(runs[name]) / limit,
    runs: runs[name],
  }));
  return { ...opts, entries };
}

export function formatKeyedCount(r: KeyedCountResult): string[] {
  const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
  const w = Math.max(...r.entries.map((e) => e.label.length));
  return [
    `keyed count: ${fmt(r.records)} records, ${fmt(r.keys)} keys, median of ${r.rounds} round(s), interleaved`,
    ...r.entries.map((e) => `  ${e.label.padEnd(w)}  ${fmt(e.recordsPerSec).padStart(11)} records/s  ${e.ratioToTwoThread.toFixed(2)} of (a)`),
  ];
}
