/**
 * Published Nexmark figures, events per second per core (events per CPU-second: the nexmark
 * runner divides by the measured cores of the worker processes, generator included).
 * - Flink 1.13: nexmark/nexmark README (= GUIDE_V1.md), 100 M events, 8 × 1 slot, the
 *   "Throughput/Cores" column as published.
 * - Flink 2.x: nexmark/nexmark GUIDE_V2.md (2025), the last 50 M of 200 M events after a
 *   restore, checkpoints every 30 s; per core derived as Throughput / Cores.
 * Both from /work/shared/research/nexmark.md §3.1 and §3.3. q6 has no Flink figure (Flink SQL
 * cannot run it).
 */
export const PUBLISHED_SOURCES = {
  flink113: 'Flink 1.13, nexmark/nexmark README (GUIDE_V1), Throughput/Cores',
  flink2: 'Flink 2.x, nexmark/nexmark GUIDE_V2 example, Throughput ÷ Cores',
} as const;

/** query → [Flink 1.13, Flink 2.x] events per core-second; null where none is published. */
export const PUBLISHED_PER_CORE: Record<string, [number | null, number | null]> = {
  q0: [155_020, 378_000],
  q1: [157_940, 396_000],
  q2: [175_210, 414_000],
  q3: [152_120, 219_000],
  q4: [34_330, 28_000],
  q5: [22_140, 75_000],
  q6: [null, null],
  q7: [12_330, 23_000],
  q8: [146_140, 162_000],
  q9: [14_240, 14_000],
  q10: [57_810, 133_000],
  q11: [39_700, 46_000],
  q12: [75_670, 194_000],
  q13: [130_730, 188_000],
  q14: [161_230, 259_000],
  q15: [72_420, 168_000],
  q16: [18_650, 45_000],
  q17: [116_800, 161_000],
  q18: [53_700, 65_000],
  q19: [44_040, 43_000],
  q20: [18_980, 18_000],
  q21: [98_490, 147_000],
  q22: [129_960, 211_000],
};
