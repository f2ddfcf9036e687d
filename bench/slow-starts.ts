/**
 * The slow starts of a row, one line each (issue 13: start delay p99 ≤ 5 ms): every checkpoint
 * whose start delay passed the target, with its legs, and where its slowest source came back
 * from a wait after the trigger ('woke'), that wait as the source's own thread saw it
 * (SourceWaitLeg): how it waited, when it was set to end, and of its length the thread's
 * run-queue wait (runnable, no CPU: the OS's part) and CPU. The rest of the wait the thread
 * slept: past the trigger, that is the engine's (a wait set to end too late, a wake-up that
 * came late to a sleeping thread).
 */
import type { CheckpointStats, SourceWaitLeg } from '../core/checkpoint/checkpoint-stats.js';

/** The start delay the issue asks for at p99 (ms): slower starts are listed. */
export const START_TARGET_MS = 5;
/** At most this many slow starts per row (the slowest). */
const LISTED = 12;

export interface SlowStart {
  id: number;
  startDelayMs: number;
  /** The start delay's legs (see START_LEGS in backpressure.ts), those the checkpoint has. */
  legs: Partial<Record<string, number>>;
  sourceWait?: SourceWaitLeg;
}

/** The row's checkpoints slower to start than the target, slowest first, with their legs. */
export function slowStarts(steady: CheckpointStats[], legsOf: (k: CheckpointStats) => Partial<Record<string, number>>): SlowStart[] {
  return steady
    .filter((k) => k.startDelayMs > START_TARGET_MS)
    .sort((a, b) => b.startDelayMs - a.startDelayMs)
    .slice(0, LISTED)
    .map((k) => ({ id: k.id, startDelayMs: k.startDelayMs, legs: legsOf(k), ...(k.sourceWait ? { sourceWait: k.sourceWait } : {}) }));
}

/** A source's wait, read left to right: how, from when, set to end when, ended when, and what its length was made of. */
export function formatSourceWait(w: SourceWaitLeg, ms: (n: number) => string): string {
  const at = (n: number) => `${n < 0 ? '−' : '+'}${ms(Math.abs(n))}`;
  const parts = [`${w.kind} wait from ${at(w.beganMs)}, set to end by ${at(w.boundMs)}, back at ${at(w.endedMs)}`];
  if (w.runQueueMs !== undefined && w.cpuMs !== undefined) {
    const slept = Math.max(0, w.endedMs - w.beganMs - w.runQueueMs - w.cpuMs);
    parts.push(`of it run queue ${ms(w.runQueueMs)}, ran ${ms(w.cpuMs)}, slept ${ms(slept)}`);
  }
  return parts.join('; ');
}

/** Lines under a row's start-delay legs: each slow start, its legs and its source's wait. */
export function formatSlowStarts(
  label: string,
  starts: SlowStart[],
  legNames: Record<string, string>,
  ms: (n: number) => string,
): string[] {
  return starts.map((s) => {
    const legs = Object.keys(legNames)
      .filter((l) => s.legs[l] !== undefined)
      .map((l) => `${legNames[l]} ${ms(s.legs[l]!)}`)
      .join(', ');
    const wait = s.sourceWait ? ` | source's wait: ${formatSourceWait(s.sourceWait, ms)}` : '';
    return `  ${label.padEnd(24)}  chk ${String(s.id).padStart(3)}  ${ms(s.startDelayMs).padStart(5)} ms = ${legs}${wait}`;
  });
}
