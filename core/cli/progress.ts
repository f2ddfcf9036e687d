/**
 * What `eddy run` shows while a job runs and after it ends, on stderr (stdout belongs to the
 * job, e.g. a print sink).
 *
 * - A live progress line, only on a TTY and without --no-progress: elapsed time, records
 *   in→out per operator (by uid), and the records/s reaching the sinks. It is one line,
 *   redrawn in place (`\r` + ANSI "clear line") at most every 250 ms and fitted to the terminal
 *   width by dropping the least useful columns (see progressLine), because a line that wraps can no longer be redrawn in place.
 * - A summary at the end: a table of the operators with records in/out, the duration, the
 *   overall records/s at the sinks, checkpoints completed and restarts.
 */

import type { JobProgress, JobResult, OperatorMetrics } from '../runtime/options.js';

export const REDRAW_INTERVAL_MS = 250;
/**
 * Snapshots come every REDRAW_INTERVAL_MS from a timer that may fire a few ms early against
 * Date.now() (Node re-arms an interval from the loop's cached time): a gate at the full
 * interval skipped such a snapshot and left the line still for 500 ms.
 */
const MIN_REDRAW_GAP_MS = REDRAW_INTERVAL_MS * 0.8;
/** The live rate is measured over about this window. */
const RATE_WINDOW_MS = 2000;

const CLEAR_LINE = '\r\x1b[2K';

export interface ProgressDisplay {
  /** Feed a progress snapshot (from RunOptions.onProgress); redraws when due. */
  update(progress: JobProgress): void;
  /** Remove the live line (before anything else is written to the stream). */
  clear(): void;
  /** Stop for good: clear the line; later updates only record the snapshot. */
  stop(): void;
  /** The newest snapshot seen, for a summary when the job ends without a result. */
  readonly last: JobProgress | undefined;
}

export interface ProgressOptions {
  stream?: NodeJS.WriteStream;
  /** false with --no-progress. The line is drawn only when this is true and the stream is a TTY. */
  enabled: boolean;
  now?: () => number;
}

export function createProgress(opts: ProgressOptions): ProgressDisplay {
  const stream = opts.stream ?? process.stderr;
  const now = opts.now ?? (() => Date.now());
  const live = opts.enabled && stream.isTTY === true;
  let last: JobProgress | undefined;
  let lastDraw = -Infinity;
  let drawn = false;
  let stopped = false;
  const samples: { t: number; n: number }[] = [];

  return {
    get last() {
      return last;
    },
    update(progress) {
      last = progress;
      samples.push({ t: progress.elapsedMs, n: sinkRecords(progress.operators) });
      while (samples.length > 2 && samples[1]!.t <= progress.elapsedMs - RATE_WINDOW_MS) samples.shift();
      if (!live || stopped) return;
      const t = now();
      if (t - lastDraw < MIN_REDRAW_GAP_MS) return;
      lastDraw = t;
      const width = Math.max(20, (stream.columns || 80) - 1);
      stream.write(CLEAR_LINE + progressLine(progress, liveRate(samples, progress), width));
      drawn = true;
    },
    clear() {
      if (drawn) stream.write(CLEAR_LINE);
      drawn = false;
      lastDraw = -Infinity;
    },
    stop() {
      this.clear();
      stopped = true;
    },
  };
}

function liveRate(samples: { t: number; n: number }[], p: JobProgress): number {
  // From the last sample before any record arrived, not from the job's start: the first
  // seconds (workers starting) would otherwise drag the first redraws' rate towards 0.
  let from = 0;
  while (from + 2 < samples.length && samples[from + 1]!.n === 0) from++;
  const first = samples[from]!;
  const lastS = samples[samples.length - 1]!;
  if (lastS !== first && lastS.t - first.t >= 200) return ((lastS.n - first.n) * 1000) / (lastS.t - first.t);
  return p.elapsedMs > 0 ? (lastS.n * 1000) / p.elapsedMs : 0;
}

/** The operators whose records in are the job's output. */
export function sinkOperators(ops: readonly OperatorMetrics[]): OperatorMetrics[] {
  return ops.filter((o) => o.kind === 'sink');
}

function sinkRecords(ops: readonly OperatorMetrics[]): number {
  return sinkOperators(ops).reduce((n, o) => n + o.recordsIn, 0);
}

/**
 * The live line, fitted to `width` columns. Columns by usefulness: elapsed time and rate, the
 * sinks (what the job delivers), the sources (what it has read: records out only, a source has
 * no input), then the operators between; when the line is too long, operators between go first
 * (from the last), then sources, and only then is the line cut.
 */
export function progressLine(p: JobProgress, ratePerSec: number, width = Infinity): string {
  const head = `eddy ${duration(p.elapsedMs)} │ ${compact(ratePerSec)} rec/s │ `;
  const cols = p.operators.map((o, i) => ({
    i,
    text:
      o.kind === 'source'
        ? `${o.uid} ${compact(o.recordsOut)}→`
        : o.kind === 'sink'
          ? `${o.uid} →${compact(o.recordsIn)}`
          : `${o.uid} ${compact(o.recordsIn)}→${compact(o.recordsOut)}`,
    rank: o.kind === 'sink' ? 0 : o.kind === 'source' ? 1 : 2,
  }));
  const kept = [...cols];
  const render = () => head + kept.map((c) => c.text).join('  ');
  // Drop the least useful column (highest rank, last first) until the line fits.
  while (render().length > width && kept.length > 1) {
    let drop = 0;
    for (let k = 1; k < kept.length; k++) if (kept[k]!.rank >= kept[drop]!.rank) drop = k;
    kept.splice(drop, 1);
  }
  const line = render();
  return line.length <= width ? line : fit(line, width);
}

/** 999, 1.2k, 12.3k, 1.23M, 4.5G */
export function compact(n: number): string {
  if (!Number.isFinite(n)) return '0';
  const a = Math.abs(n);
  if (a < 1000) return String(Math.round(n));
  const units: [number, string][] = [
    [1e9, 'G'],
    [1e6, 'M'],
    [1e3, 'k'],
  ];
  for (const [div, u] of units) {
    if (a >= div) {
      const v = n / div;
      return `${Math.abs(v) < 10 ? v.toFixed(2) : Math.abs(v) < 100 ? v.toFixed(1) : v.toFixed(0)}${u}`;
    }
  }
  return String(n);
}

/** 850ms, 12.3s, 4m 05s, 1h 02m 03s */
export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.floor(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}h ${String(m).padStart(2, '0')}m ${sec}s` : `${m}m ${sec}s`;
}

const int = (n: number): string => Math.round(n).toLocaleString('en-US');

export interface SummaryInput {
  durationMs: number;
  operators: OperatorMetrics[];
  checkpointsCompleted?: number;
  checkpointsFailed?: number;
  restarts?: number;
  collected?: JobResult['collected'];
  stoppedWithSavepoint?: string;
}

/**
 * The end-of-job summary (several lines, no trailing newline). `status` is the first line's
 * verb, e.g. 'finished' or 'cancelled'.
 */
export function formatSummary(r: SummaryInput, status = 'finished'): string {
  const head = ['operator', 'name', 'parallelism', 'records in', 'records out'];
  const rows = r.operators.map((o) => [o.uid, o.name === o.uid ? '' : o.name, String(o.parallelism), int(o.recordsIn), int(o.recordsOut)]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const numeric = [false, false, true, true, true];
  const fmt = (row: string[]): string =>
    `  ${row.map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ')}`.trimEnd();

  const lines = [`eddy: job ${status} in ${duration(r.durationMs)}`];
  if (rows.length > 0) lines.push(fmt(head), ...rows.map(fmt));
  const atSinks = sinkRecords(r.operators);
  const rate = r.durationMs > 0 ? (atSinks * 1000) / r.durationMs : 0;
  const tail = [`${int(atSinks)} records at the sinks (${compact(rate)} records/s)`];
  if (r.checkpointsCompleted !== undefined) tail.push(`checkpoints completed: ${r.checkpointsCompleted}`);
  if (r.checkpointsFailed) tail.push(`checkpoints failed: ${r.checkpointsFailed}`);
  if (r.restarts !== undefined) tail.push(`restarts: ${r.restarts}`);
  lines.push(`  ${tail.join(' · ')}`);
  for (const o of r.operators) {
    if (o.parse)
      lines.push(
        `  ${o.uid}: lines parsed ${int(o.parse.parsed)} · skipped ${int(o.parse.skipped)} · dead-lettered ${int(o.parse.deadLettered)}`,
      );
  }
  if (r.stoppedWithSavepoint) lines.push(`  stopped with savepoint ${r.stoppedWithSavepoint}`);
  return lines.join('\n');
}

/** Cuts to `width` characters (the line holds no ANSI codes). */
function fit(line: string, width: number): string {
  return line.length <= width ? line : `${line.slice(0, width - 1)}…`;
}
