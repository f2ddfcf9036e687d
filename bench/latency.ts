/**
 * Latency from the source's emit timestamp to the sink, at 25%, 50% and 90% of the maximum
 * rate, for several buffer timeouts. The maximum rate is measured first, in the same run, with
 * the same job unthrottled (its records/s over the whole job, deploy included, so the
 * fractions are if anything a little below the true maximum). The first `warmupFraction` of
 * each run's records are not measured.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runChecked } from './engine-run.js';

const JOB = fileURLToPath(new URL('../../bench/jobs/latency.mjs', import.meta.url));

export interface LatencyOptions {
  keys: number;
  /** Records of the unthrottled run that measures the maximum rate. */
  maxRateRecords: number;
  /** Seconds each throttled run lasts. */
  seconds: number;
  fractions: number[];
  bufferTimeoutsMs: number[];
  warmupFraction: number;
}

export interface LatencyRow {
  fraction: number;
  bufferTimeoutMs: number;
  targetRate: number;
  /** records / job duration (below targetRate by the deploy time). */
  achievedRate: number;
  measured: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
}

export interface LatencyResult extends LatencyOptions {
  maxRecordsPerSec: number;
  /** Histogram resolution, µs. */
  bucketUs: number;
  rows: LatencyRow[];
}

interface Histogram {
  bucketUs: number;
  measured: number;
  buckets: Record<string, number>;
}

/** Percentile from a bucket histogram: the upper edge of the bucket holding the nearest-rank sample. */
function histPercentile(h: Map<number, number>, total: number, bucketUs: number, p: number): number {
  const rank = Math.max(1, Math.ceil((p / 100) * total));
  let seen = 0;
  for (const b of [...h.keys()].sort((x, y) => x - y)) {
    seen += h.get(b)!;
    if (seen >= rank) return ((b + 1) * bucketUs) / 1000;
  }
  return NaN;
}

async function runLatency(dir: string, tag: string, count: number, keys: number, skip: number, bufferTimeoutMs: number, rate?: number) {
  const out = join(dir, tag);
  const res = await runChecked(
    JOB,
    {
      parallelism: 1,
      bufferTimeoutMs,
      args: { count: String(count), keys: String(keys), skip: String(skip), out, ...(rate ? { rate: String(Math.round(rate)) } : {}) },
    },
    count,
  );
  const h = JSON.parse(readFileSync(`${out}-0.json`, 'utf8')) as Histogram;
  const merged = new Map(Object.entries(h.buckets).map(([b, n]) => [Number(b), n]));
  const pct = (p: number) => histPercentile(merged, h.measured, h.bucketUs, p);
  return { res, bucketUs: h.bucketUs, measured: h.measured, p50: pct(50), p99: pct(99), p999: pct(99.9), max: pct(100) };
}

export async function benchLatency(opts: LatencyOptions, onRow?: (r: LatencyRow) => void): Promise<LatencyResult> {
  const dir = mkdtempSync(join(tmpdir(), 'eddy-bench-latency-'));
  try {
    const skipOf = (n: number) => Math.floor(n * opts.warmupFraction);
    await runLatency(dir, 'warmup', Math.min(200_000, opts.maxRateRecords), opts.keys, 0, 5);
    const max = await runLatency(dir, 'max', opts.maxRateRecords, opts.keys, skipOf(opts.maxRateRecords), 5);
    const maxRecordsPerSec = opts.maxRateRecords / (max.res.durationMs / 1000);
    const rows: LatencyRow[] = [];
    for (const bufferTimeoutMs of opts.bufferTimeoutsMs) {
      for (const fraction of opts.fractions) {
        const targetRate = maxRecordsPerSec * fraction;
        const count = Math.max(1000, Math.round(targetRate * opts.seconds));
        const r = await runLatency(dir, `r${fraction}-${bufferTimeoutMs}`, count, opts.keys, skipOf(count), bufferTimeoutMs, targetRate);
        const row: LatencyRow = {
          fraction,
          bufferTimeoutMs,
          targetRate,
          achievedRate: count / (r.res.durationMs / 1000),
          measured: r.measured,
          p50Ms: r.p50,
          p99Ms: r.p99,
          p999Ms: r.p999,
          maxMs: r.max,
        };
        rows.push(row);
        onRow?.(row);
      }
    }
    return { ...opts, maxRecordsPerSec, bucketUs: max.bucketUs, rows };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function formatLatency(r: LatencyResult): string[] {
  const f = (n: number) => (n < 10 ? n.toFixed(2) : n.toFixed(1));
  const out = [
    `latency: source → sink, parallelism 1, max rate ${Math.round(r.maxRecordsPerSec).toLocaleString('en-US')} records/s (measured first), ${r.seconds} s per run, first ${r.warmupFraction * 100}% not measured`,
    '  buffer timeout  % of max   target rec/s  p50 ms  p99 ms  p999 ms  max ms',
  ];
  for (const x of r.rows) {
    out.push(
      `  ${`${x.bufferTimeoutMs} ms`.padStart(14)}  ${`${Math.round(x.fraction * 100)}%`.padStart(8)}  ${Math.round(x.targetRate).toLocaleString('en-US').padStart(13)}  ${f(x.p50Ms).padStart(6)}  ${f(x.p99Ms).padStart(6)}  ${f(x.p999Ms).padStart(7)}  ${f(x.maxMs).padStart(6)}`,
    );
  }
  return out;
}
