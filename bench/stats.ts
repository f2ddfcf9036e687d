/** Small statistics shared by every suite: medians and spreads of rounds, nearest-rank percentiles, peak RSS. */

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Nearest-rank percentile (an observed value, no interpolation); null when there are no samples. */
export function percentile(xs: readonly number[], p: number): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length, Math.max(1, Math.ceil((p / 100) * s.length))) - 1];
}

/** The median of several rounds and their extremes, so a report can show how far the rounds spread. */
export interface Spread {
  median: number;
  min: number;
  max: number;
  /** How many rounds the figures came from. */
  n: number;
}

export function spread(xs: readonly number[]): Spread {
  return { median: median(xs), min: xs.length ? Math.min(...xs) : NaN, max: xs.length ? Math.max(...xs) : NaN, n: xs.length };
}

export interface Percentiles {
  p50: number | null;
  p99: number | null;
  max: number | null;
}

export const percentiles = (xs: readonly number[]): Percentiles => ({
  p50: percentile(xs, 50),
  p99: percentile(xs, 99),
  max: percentile(xs, 100),
});

/**
 * Samples the process's resident set (main thread and every worker thread: they share one
 * process) while `run` is in flight, and returns its result with the peak seen. The main
 * thread only awaits the job, so a 20 ms timer is enough to see the plateau of a run.
 */
export async function withPeakRss<T>(run: () => Promise<T>, everyMs = 20): Promise<{ value: T; peakRssBytes: number }> {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => {
    const r = process.memoryUsage.rss();
    if (r > peak) peak = r;
  }, everyMs);
  try {
    const value = await run();
    peak = Math.max(peak, process.memoryUsage.rss());
    return { value, peakRssBytes: peak };
  } finally {
    clearInterval(timer);
  }
}

/** Runs `fns` round-robin for `rounds` rounds, rotating the start so none always runs first. */
export async function interleave<K extends string>(rounds: number, fns: Record<K, () => Promise<number>>): Promise<Record<K, number[]>> {
  const names = Object.keys(fns) as K[];
  const out = Object.fromEntries(names.map((n) => [n, [] as number[]])) as Record<K, number[]>;
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < names.length; i++) {
      const n = names[(r + i) % names.length];
      out[n].push(await fns[n]());
    }
  }
  return out;
}
