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
import { watchDashboard } from './dashboard-watcher.js';
import type { RunOptions } from '../core/runtime/options.js';

export interface KeyedCountOptions {
  records: number;
  keys: number;
  rounds: number;
  /** Checkpoint interval of the exactly-once engine runs. */
  intervalMs: number;
  /**
   * Also run the parallelism-2 engine jobs with the dashboard on (`--web-ui 0`: metrics
   * sampled every second, REST and /metrics polled every second as an open page and a
   * scraper would), interleaved with the same jobs without it: the cost of watching a job.
   */
  webUi?: boolean;
}

export interface KeyedCountEntry {
  name: string;
  label: string;
  kind: 'engine' | 'baseline';
  recordsPerSec: number;
  /** recordsPerSec / the two-thread loop's median. */
  ratioToTwoThread: number;
  runs: number[];
  /**
   * Engine only: the median duration of the same job with 1,000 records, run right after each
   * measured run (deploy, start-up, teardown), and the rate with that fixed cost taken out:
   * records / (duration − fixed), only from runs longer than twice the fixed cost. An estimate
   * of the steady state; the targets use recordsPerSec.
   */
  fixedMs?: number;
  steadyRecordsPerSec?: number;
}

export interface KeyedCountResult extends KeyedCountOptions {
  entries: KeyedCountEntry[];
  /**
   * Duration of the suite's first engine job (1,000 records, parallelism 1, exactly-once):
   * it starts the slot threads. Later jobs of the process reuse them (core/runtime/pool.ts),
   * so every other figure here is without thread start-up; this one shows what it costs.
   */
  coldStartMs?: number;
}

/** Records of the run that measures an engine job's fixed cost. */
const TINY = 1000;

const rate = (records: number, ms: number) => records / (ms / 1000);

export async function benchKeyedCount(opts: KeyedCountOptions): Promise<KeyedCountResult> {
  const { records, keys } = opts;
  const eo = { mode: 'exactly-once' as const, checkpointIntervalMs: opts.intervalMs };
  const fixed: Record<string, number[]> = {};
  const steady: Record<string, number[]> = {};
  const engine = (name: string, options: RunOptions) => async () => {
    const r = await keyedCountRate(records, keys, options);
    const tiny = (await keyedCountRate(TINY, keys, options)).result.durationMs;
    (fixed[name] ??= []).push(tiny);
    // Only meaningful when the fixed cost is a small part of the run; otherwise its noise dominates.
    if (r.result.durationMs > 2 * tiny) (steady[name] ??= []).push(records / ((r.result.durationMs - tiny) / 1000));
    return r.recordsPerSec;
  };
  const watched: RunOptions = { webUi: 0, onWebUi: watchDashboard };
  // Watched runs sit next to their unwatched twins, so a round measures each pair back to back.
  const runners: Record<string, () => Promise<number>> = {
    'engine-p1-none': engine('engine-p1-none', { parallelism: 1 }),
    'engine-p1-eo': engine('engine-p1-eo', { parallelism: 1, ...eo }),
    'engine-p2-none': engine('engine-p2-none', { parallelism: 2 }),
    ...(opts.webUi ? { 'engine-p2-none-web-ui': engine('engine-p2-none-web-ui', { parallelism: 2, ...watched }) } : {}),
    'engine-p2-eo': engine('engine-p2-eo', { parallelism: 2, ...eo }),
    ...(opts.webUi ? { 'engine-p2-eo-web-ui': engine('engine-p2-eo-web-ui', { parallelism: 2, ...eo, ...watched }) } : {}),
    'two-thread-loop': async () => rate(records, (await twoThreadKeyedCount(records, keys)).ms),
    'single-thread-loop': async () => rate(records, singleThreadKeyedCount(records, keys).ms),
    'node-streams': async () => rate(records, (await nodeStreamsKeyedCount(records, keys)).ms),
    'postmessage-workers': async () => rate(records, (await postMessageKeyedCount(records, keys)).ms),
  };
  const labels: Record<string, string> = {
    'engine-p2-none-web-ui': 'eddy, parallelism 2, checkpoints off, dashboard on',
    'engine-p2-eo-web-ui': `eddy, parallelism 2, exactly-once ${opts.intervalMs} ms, dashboard on`,
    'engine-p1-none': 'eddy, parallelism 1, checkpoints off',
    'engine-p1-eo': `eddy, parallelism 1, exactly-once ${opts.intervalMs} ms`,
    'engine-p2-none': 'eddy, parallelism 2, checkpoints off',
    'engine-p2-eo': `eddy, parallelism 2, exactly-once ${opts.intervalMs} ms`,
    'two-thread-loop': '(a) two-thread loop: ring + msgpackr + Map',
    'single-thread-loop': '(b) single-thread plain loop',
    'node-streams': '(c) Node streams, object mode',
    'postmessage-workers': '(d) postMessage worker pipeline',
  };
  const coldStartMs = (await keyedCountRate(TINY, keys, { parallelism: 1, ...eo })).result.durationMs;
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
  const entries = Object.keys(runners).map((name): KeyedCountEntry => ({
    name,
    label: labels[name],
    kind: name.startsWith('engine') ? 'engine' : 'baseline',
    recordsPerSec: median(runs[name]),
    ratioToTwoThread: median(runs[name]) / limit,
    runs: runs[name],
    ...(fixed[name]
      ? { fixedMs: median(fixed[name]), ...(steady[name]?.length ? { steadyRecordsPerSec: median(steady[name]) } : {}) }
      : {}),
  }));
  return { ...opts, entries, coldStartMs };
}

export function formatKeyedCount(r: KeyedCountResult): string[] {
  const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
  const w = Math.max(...r.entries.map((e) => e.label.length));
  return [
    `keyed count: ${fmt(r.records)} records, ${fmt(r.keys)} keys, median of ${r.rounds} round(s), interleaved` +
      (r.coldStartMs !== undefined
        ? `; first engine job of the process (starts the threads, ${fmt(TINY)} records): ${Math.round(r.coldStartMs)} ms`
        : ''),
    ...r.entries.map(
      (e) =>
        `  ${e.label.padEnd(w)}  ${fmt(e.recordsPerSec).padStart(11)} records/s  ${e.ratioToTwoThread.toFixed(2)} of (a)` +
        (e.fixedMs !== undefined
          ? `   (fixed cost ${Math.round(e.fixedMs)} ms; without it ${e.steadyRecordsPerSec === undefined ? 'n/a (run too short)' : `${fmt(e.steadyRecordsPerSec)} records/s`})`
          : ''),
    ),
    ...webUiCost(r),
  ];
}

/** The dashboard's cost: each watched entry against the same job unwatched (medians, and per round). */
function webUiCost(r: KeyedCountResult): string[] {
  const lines: string[] = [];
  for (const e of r.entries) {
    if (!e.name.endsWith('-web-ui')) continue;
    const plain = r.entries.find((p) => p.name === e.name.slice(0, -'-web-ui'.length));
    if (!plain) continue;
    const perRound = e.runs.map((x, i) => x / plain.runs[i]);
    lines.push(
      `  dashboard cost, ${plain.label}: ${((1 - e.recordsPerSec / plain.recordsPerSec) * 100).toFixed(1)} % of the median rate ` +
        `(per round, on / off: ${perRound.map((x) => x.toFixed(3)).join(' ')}; median ${median(perRound).toFixed(3)})`,
    );
  }
  return lines;
}
