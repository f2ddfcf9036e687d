/**
 * Backpressure: keyed count into a slow sink (a busy wait per record), so the source runs far
 * ahead and the rings stay full. For each consistency mode and ring size: throughput, checkpoint
 * duration and alignment time (p50/p99 over the non-final checkpoints), and the peak resident
 * set of the process while the job ran — bounded rings mean bounded memory, whatever the
 * source could produce. Exactly-once runs aligned and unaligned (`--unaligned`: barriers
 * overtake the full rings; the rows also give the start delay and the in-flight bytes stored).
 */
import { fileURLToPath } from 'node:url';
import type { ConsistencyMode } from '../core/runtime/options.js';
import { runChecked } from './engine-run.js';
import { percentiles, withPeakRss, type Percentiles } from './stats.js';

const JOB = fileURLToPath(new URL('../../bench/jobs/slow-sink.mjs', import.meta.url));

export interface BackpressureOptions {
  records: number;
  keys: number;
  /** Busy wait of the sink per record, µs. */
  spinUs: number;
  ringCapacities: number[];
  intervalMs: number;
  /** 2 by default: each count task then has two inputs, so exactly-once really aligns. */
  parallelism: number;
}

export interface BackpressureRow {
  mode: ConsistencyMode;
  /** Exactly-once with unaligned checkpoints. */
  unaligned: boolean;
  /** Exactly-once starting aligned, switching to unaligned after this many ms. */
  alignedTimeoutMs?: number;
  ringCapacity: number;
  recordsPerSec: number;
  durationMs: number;
  checkpoints: number;
  checkpointDurationMs: Percentiles;
  alignmentMs: Percentiles;
  startDelayMs: Percentiles;
  inFlightBytes: Percentiles;
  peakRssBytes: number;
}

export interface BackpressureResult extends BackpressureOptions {
  rows: BackpressureRow[];
}

export const MODES: { mode: ConsistencyMode; unaligned: boolean; alignedTimeoutMs?: number }[] = [
  { mode: 'none', unaligned: false },
  { mode: 'at-least-once', unaligned: false },
  { mode: 'exactly-once', unaligned: false },
  { mode: 'exactly-once', unaligned: true },
  { mode: 'exactly-once', unaligned: false, alignedTimeoutMs: 10 },
];

export async function benchBackpressure(opts: BackpressureOptions, onRow?: (r: BackpressureRow) => void): Promise<BackpressureResult> {
  const rows: BackpressureRow[] = [];
  const args = (count: number) => ({ count: String(count), keys: String(opts.keys), spinUs: String(opts.spinUs) });
  // Warm-up (JIT of the checkpoint path under backpressure).
  await runChecked(JOB, { parallelism: opts.parallelism, mode: 'exactly-once', checkpointIntervalMs: opts.intervalMs, args: args(Math.min(opts.records, 20_000)) }, Math.min(opts.records, 20_000));
  for (const ringCapacity of opts.ringCapacities) {
    for (const { mode, unaligned, alignedTimeoutMs } of MODES) {
      const { value: res, peakRssBytes } = await withPeakRss(() =>
        runChecked(
          JOB,
          { parallelism: opts.parallelism, mode, unaligned, ...(alignedTimeoutMs !== undefined ? { alignedCheckpointTimeoutMs: alignedTimeoutMs } : {}), ringCapacity, ...(mode !== 'none' ? { checkpointIntervalMs: opts.intervalMs } : {}), args: args(opts.records) },
          opts.records,
        ),
      );
      const steady = res.checkpoints.filter((k) => !k.final);
      const row: BackpressureRow = {
        mode,
        unaligned,
        alignedTimeoutMs,
        ringCapacity,
        recordsPerSec: opts.records / (res.durationMs / 1000),
        durationMs: res.durationMs,
        checkpoints: steady.length,
        checkpointDurationMs: percentiles(steady.map((k) => k.durationMs)),
        alignmentMs: percentiles(steady.map((k) => k.alignmentMs)),
        startDelayMs: percentiles(steady.map((k) => k.startDelayMs)),
        inFlightBytes: percentiles(steady.map((k) => k.inFlightBytes)),
        peakRssBytes,
      };
      rows.push(row);
      onRow?.(row);
    }
  }
  return { ...opts, rows };
}

export function formatBackpressure(r: BackpressureResult): string[] {
  const ms = (n: number | null) => (n === null ? '—' : n < 10 ? n.toFixed(1) : String(Math.round(n)));
  const out = [`backpressure: sink busy ${r.spinUs} µs/record, ${r.records.toLocaleString('en-US')} records, checkpoint interval ${r.intervalMs} ms, parallelism ${r.parallelism}`];
  out.push('  mode                      ring      records/s  ckpts  duration p50/p99 ms  alignment p50/p99 ms  start delay p99 ms  in flight p50 KiB  peak RSS MiB');
  for (const x of r.rows) {
    const label = x.alignedTimeoutMs !== undefined ? `${x.mode} timeout ${x.alignedTimeoutMs}` : x.unaligned ? `${x.mode} unaligned` : x.mode;
    const kib = x.inFlightBytes.p50 === null ? '—' : (x.inFlightBytes.p50 / 1024).toFixed(0);
    out.push(
      `  ${label.padEnd(24)}  ${`${x.ringCapacity / 1024} KiB`.padStart(8)}  ${Math.round(x.recordsPerSec).toLocaleString('en-US').padStart(9)}  ${String(x.checkpoints).padStart(5)}  ${`${ms(x.checkpointDurationMs.p50)} / ${ms(x.checkpointDurationMs.p99)}`.padStart(19)}  ${`${ms(x.alignmentMs.p50)} / ${ms(x.alignmentMs.p99)}`.padStart(20)}  ${ms(x.startDelayMs.p99).padStart(18)}  ${kib.padStart(17)}  ${(x.peakRssBytes / 2 ** 20).toFixed(0).padStart(12)}`,
    );
  }
  return out;
}
