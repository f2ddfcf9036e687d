/**
 * What checkpointing costs: the keyed-count job (generator → keyBy → count → discard) with
 * mode `none`, `at-least-once` and `exactly-once` at each checkpoint interval, all in the same
 * process. Every round runs every configuration once, round-robin (the starting configuration
 * rotates from round to round), so drift of the machine — thermal, page cache, other load —
 * falls on all configurations alike; each figure is the median over the rounds and is set
 * against the median of `none` from the same invocation.
 *
 * Checkpoint duration and alignment percentiles are taken over every completed non-final
 * checkpoint of every round (the final checkpoint at end of input is excluded: it measures
 * the drain, not the steady state).
 *
 * Unthrottled, the count tasks are the bottleneck: every ring runs full (backpressure), and a
 * barrier waits behind a ring's worth of records before it is even seen. Alignment *without*
 * backpressure is therefore measured separately ("paced"): exactly-once at each interval with
 * the source held to a fraction of the `none` rate measured in the same invocation.
 */
import type { JobResult } from '../core/runtime/options.js';
import type { ConsistencyMode } from '../core/contract/consistency.js';
import { KEYED_COUNT_JOB, runChecked } from './engine-run.js';
import { median, percentiles as pct, type Percentiles } from './stats.js';

export interface CheckpointModesOptions {
  records: number;
  keys: number;
  parallelism: number;
  rounds: number;
  /** Checkpoint intervals in ms; each checkpointing mode runs at each. */
  intervalsMs: number[];
  /** Records of the warm-up run of each configuration (0: no warm-up). */
  warmupRecords: number;
  /** Also measure exactly-once with the source paced to this fraction of `none`, each interval, for this long. */
  paced?: { fraction: number; seconds: number };
  /** Called after each measured run (for a progress line). */
  onRun?: (run: CheckpointModesRun, index: number, total: number) => void;
}

/** Where checkpoint time went, per phase (the slowest task's figure per checkpoint). */
export interface PhasePercentiles {
  durationMs: Percentiles;
  startDelayMs: Percentiles;
  alignmentMs: Percentiles;
  syncMs: Percentiles;
  asyncMs: Percentiles;
}

/** Exactly-once with a paced source: no backpressure. */
export interface PacedSummary extends PhasePercentiles {
  intervalMs: number;
  fraction: number;
  targetRate: number;
  recordsPerSec: number;
  records: number;
  checkpoints: number;
}

export interface ModeConfig {
  /** 'none', 'at-least-once@1000ms', ... */
  name: string;
  mode: ConsistencyMode;
  /** null for mode 'none'. */
  intervalMs: number | null;
}

/** One measured run, as it happened. */
export interface CheckpointModesRun {
  round: number;
  /** Position of this run inside its round (0 = first). */
  position: number;
  config: string;
  mode: ConsistencyMode;
  intervalMs: number | null;
  /** JobResult.durationMs: load, deploy, run, final checkpoint, teardown. */
  durationMs: number;
  recordsPerSec: number;
  checkpointsCompleted: number;
  /** Every completed checkpoint of the run, the final one included (flagged `final`). */
  checkpoints: JobResult['checkpoints'];
}

/** One configuration over its rounds; the phase percentiles are over its non-final checkpoints. */
export interface ModeSummary extends ModeConfig, PhasePercentiles {
  /** Median records/s over the rounds. */
  recordsPerSec: number;
  /** recordsPerSec / recordsPerSec of `none` in this invocation. */
  ratioToNone: number;
  /** Median over rounds of (this run / the `none` run of the same round). */
  pairedRatioToNone: number;
  runs: number[];
  /** Completed non-final checkpoints over all rounds (what the percentiles are taken over). */
  checkpoints: number;
  /** Final checkpoints over all rounds (one per run when the job ends normally). */
  finalCheckpoints: number;
  bytes: Percentiles;
  /** Set when the figures of this configuration should not be trusted, and why. */
  warning?: string;
}

/** The options the run used (without the callback), and what it measured. */
export interface CheckpointModesResult extends Omit<CheckpointModesOptions, 'onRun' | 'paced'> {
  job: string;
  /** Percentiles are nearest-rank; with fewer than 100 samples p99 is the maximum. */
  percentileMethod: 'nearest-rank';
  configs: ModeSummary[];
  runs: CheckpointModesRun[];
  /** Exactly-once with the source paced (no backpressure), per interval; empty unless asked for. */
  paced: PacedSummary[];
}

type Stat = JobResult['checkpoints'][number];

function phasesOf(steady: readonly Stat[]): PhasePercentiles {
  return {
    durationMs: pct(steady.map((k) => k.durationMs)),
    startDelayMs: pct(steady.map((k) => k.startDelayMs)),
    alignmentMs: pct(steady.map((k) => k.alignmentMs)),
    syncMs: pct(steady.map((k) => k.syncMs)),
    asyncMs: pct(steady.map((k) => k.asyncMs)),
  };
}

export function modeConfigs(intervalsMs: number[]): ModeConfig[] {
  const configs: ModeConfig[] = [{ name: 'none', mode: 'none', intervalMs: null }];
  for (const intervalMs of intervalsMs) {
    for (const mode of ['at-least-once', 'exactly-once'] as const) configs.push({ name: `${mode}@${intervalMs}ms`, mode, intervalMs });
  }
  return configs;
}

async function runOnce(c: ModeConfig, records: number, keys: number, parallelism: number, rate?: number): Promise<JobResult> {
  const args: Record<string, string> = { count: String(records), keys: String(keys) };
  if (rate !== undefined) args.rate = String(Math.round(rate));
  const res = await runChecked(
    KEYED_COUNT_JOB,
    { parallelism, mode: c.mode, ...(c.intervalMs !== null ? { checkpointIntervalMs: c.intervalMs } : {}), args },
    records,
  );
  if (c.mode === 'none' && res.checkpoints.length > 0) throw new Error(`${c.name}: ${res.checkpoints.length} checkpoints with mode none`);
  return res;
}

export async function benchCheckpointModes(opts: CheckpointModesOptions): Promise<CheckpointModesResult> {
  if (opts.rounds < 1) throw new Error('checkpoint-modes: rounds must be at least 1');
  const configs = modeConfigs(opts.intervalsMs);
  // One warm-up of each configuration: JIT (checkpoint paths included), module loading, page cache.
  if (opts.warmupRecords > 0) {
    for (const c of configs) await runOnce(c, Math.min(opts.records, opts.warmupRecords), opts.keys, opts.parallelism);
  }
  const runs: CheckpointModesRun[] = [];
  const total = opts.rounds * configs.length;
  for (let round = 0; round < opts.rounds; round++) {
    for (let position = 0; position < configs.length; position++) {
      // Rotate the start so no configuration always runs first (or always after the same one).
      const c = configs[(round + position) % configs.length];
      const res = await runOnce(c, opts.records, opts.keys, opts.parallelism);
      const run: CheckpointModesRun = {
        round,
        position,
        config: c.name,
        mode: c.mode,
        intervalMs: c.intervalMs,
        durationMs: res.durationMs,
        recordsPerSec: opts.records / (res.durationMs / 1000),
        checkpointsCompleted: res.checkpointsCompleted,
        checkpoints: res.checkpoints,
      };
      runs.push(run);
      opts.onRun?.(run, runs.length, total);
    }
  }

  const noneByRound = new Map(runs.filter((r) => r.config === 'none').map((r) => [r.round, r.recordsPerSec]));
  const noneMedian = median([...noneByRound.values()]);
  const summaries = configs.map((c): ModeSummary => {
    const mine = runs.filter((r) => r.config === c.name);
    const rps = mine.map((r) => r.recordsPerSec);
    const all = mine.flatMap((r) => r.checkpoints);
    const steady = all.filter((k) => !k.final);
    const s: ModeSummary = {
      ...c,
      recordsPerSec: median(rps),
      ratioToNone: median(rps) / noneMedian,
      pairedRatioToNone: median(mine.map((r) => r.recordsPerSec / noneByRound.get(r.round)!)),
      runs: rps,
      checkpoints: steady.length,
      finalCheckpoints: all.length - steady.length,
      ...phasesOf(steady),
      bytes: pct(steady.map((k) => k.bytes)),
    };
    if (c.mode !== 'none') {
      const perRun = steady.length / mine.length;
      if (perRun < 3) {
        s.warning = `only ${steady.length} non-final checkpoint(s) in ${mine.length} run(s): the job is too short for a ${c.intervalMs} ms interval; raise --records`;
      }
      if (s.finalCheckpoints !== mine.length) {
        s.warning = `${s.warning ? `${s.warning}; ` : ''}${s.finalCheckpoints} final checkpoint(s) in ${mine.length} run(s)`;
      }
    }
    return s;
  });
  const paced: PacedSummary[] = [];
  if (opts.paced) {
    const { fraction, seconds } = opts.paced;
    const targetRate = noneMedian * fraction;
    const records = Math.max(10_000, Math.round(targetRate * seconds));
    for (const intervalMs of opts.intervalsMs) {
      const res = await runOnce(
        { name: `exactly-once@${intervalMs}ms paced`, mode: 'exactly-once', intervalMs },
        records,
        opts.keys,
        opts.parallelism,
        targetRate,
      );
      const steady = res.checkpoints.filter((k) => !k.final);
      paced.push({
        intervalMs,
        fraction,
        targetRate,
        records,
        recordsPerSec: records / (res.durationMs / 1000),
        checkpoints: steady.length,
        ...phasesOf(steady),
      });
    }
  }
  return {
    job: 'bench/jobs/keyed-count.mjs',
    records: opts.records,
    keys: opts.keys,
    parallelism: opts.parallelism,
    rounds: opts.rounds,
    intervalsMs: opts.intervalsMs,
    warmupRecords: opts.warmupRecords,
    percentileMethod: 'nearest-rank',
    configs: summaries,
    runs,
    paced,
  };
}

/** The readable table of a result (lines without trailing newline). */
export function formatCheckpointModes(r: CheckpointModesResult): string[] {
  const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
  const ms = (n: number | null) => (n === null ? '—' : n < 10 ? n.toFixed(1) : String(Math.round(n)));
  const pair = (p: Percentiles) => (p.p50 === null ? '—' : `${ms(p.p50)} / ${ms(p.p99)}`);
  const phaseHeader = ['duration', 'start delay', 'alignment', 'sync', 'async'].map((h) => `${h} p50/p99`);
  const phaseCells = (p: PhasePercentiles) => [p.durationMs, p.startDelayMs, p.alignmentMs, p.syncMs, p.asyncMs].map(pair);
  const none = ['—', '—', '—', '—', '—'];
  const table = (header: string[], rows: string[][], left: number) => {
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
    const line = (cells: string[]) => '  ' + cells.map((x, i) => (i >= left ? x.padStart(widths[i]) : x.padEnd(widths[i]))).join('  ');
    return [line(header), ...rows.map(line)];
  };
  const rows = r.configs.map((c) => [
    c.mode,
    c.intervalMs === null ? '—' : `${c.intervalMs} ms`,
    fmt(c.recordsPerSec),
    c.ratioToNone.toFixed(2),
    c.mode === 'none' ? '—' : String(c.checkpoints),
    ...(c.mode === 'none' ? none : phaseCells(c)),
  ]);
  const out = [
    `checkpoint modes: keyed count, parallelism ${r.parallelism}, ${fmt(r.records)} records, ${fmt(r.keys)} keys, median of ${r.rounds} round(s), interleaved, source unthrottled (rings full: backpressure)`,
    ...table(['mode', 'interval', 'records/s', '/ none', 'ckpts', ...phaseHeader.map((h) => `${h} ms`)], rows, 2),
    `  ckpts: completed non-final checkpoints over all rounds (percentiles over these; final checkpoints excluded); phases are the slowest task's`,
  ];
  if (r.paced.length > 0) {
    const p0 = r.paced[0];
    out.push(
      `  exactly-once with the source paced to ${Math.round(p0.fraction * 100)}% of none (${fmt(p0.targetRate)} records/s, ${fmt(p0.records)} records): no backpressure`,
    );
    out.push(
      ...table(
        ['interval', 'records/s', 'ckpts', ...phaseHeader.map((h) => `${h} ms`)],
        r.paced.map((x) => [`${x.intervalMs} ms`, fmt(x.recordsPerSec), String(x.checkpoints), ...phaseCells(x)]),
        1,
      ),
    );
  }
  for (const c of r.configs) if (c.warning) out.push(`  warning: ${c.name}: ${c.warning}`);
  return out;
}
