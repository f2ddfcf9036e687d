/**
 * The slow starts of a row, one line each (issue 13: start delay p99 ≤ 5 ms): every checkpoint
 * whose start delay passed the target, with its legs, and where its slowest source came back
 * from a wait after the trigger ('woke'), that wait as the source's own thread saw it
 * (SourceWaitLeg): how it waited, when it was set to end, and of its length the thread's
 * run-queue wait (runnable, no CPU: the OS's part) and CPU. The rest of the wait the thread
 * slept. Asleep past the time it was set to end, the thread was neither running nor runnable:
 * blocked on a lock (V8 guards every Atomics.wait, waitAsync and notify of the process with one
 * mutex, which the thread must take again to return from its wait) or held by the host.
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
  const what = `${w.kind === 'unrecorded' ? 'no recorded wait ended after the trigger; the last, ' : `${w.kind} wait `}${w.afterEnd ? '(after its input ended) ' : ''}`;
  const parts = [`${what}from ${at(w.beganMs)}, set to end by ${at(w.boundMs)}, back at ${at(w.endedMs)}`];
  if (w.runQueueMs !== undefined && w.cpuMs !== undefined) {
    // Read after the wait (a trigger was due at its end): the figures run to that read.
    const to = w.sampledToMs ?? w.endedMs;
    const slept = Math.max(0, to - w.beganMs - w.runQueueMs - w.cpuMs);
    // Asleep past the time it was set to end: neither running nor runnable (a lock, the host).
    const past = slept - (w.boundMs - w.beganMs);
    parts.push(
      `${w.sampledToMs === undefined ? 'of it' : `of it and on to ${at(to)}`} run queue ${ms(w.runQueueMs)}, ran ${ms(w.cpuMs)}, slept ${ms(slept)}${past > 1 ? ` (${ms(past)} past its end)` : ''}`,
    );
  }
  if (w.stealMs !== undefined) parts.push(`host steal over it ${ms(w.stealMs)} (10 ms ticks), major faults ${w.majorFaults ?? '—'}`);
  // After the wait, the same source until it took the trigger (see SourceWaitLeg).
  if (w.tookMs !== undefined) {
    const turns = w.turns ? `, ${w.turns} event-loop turn${w.turns > 1 ? 's' : ''} (longest ${ms(w.longestTurnMs ?? 0)})` : '';
    parts.push(`then reads done ${at(w.readsDoneMs ?? w.endedMs)}, woke ${at(w.wokeMs ?? w.endedMs)}, took ${at(w.tookMs)}${turns}`);
  }
  return parts.join('; ');
}

/** Lines under a row's start-delay legs: each slow start, its legs and its source's wait. */
export function formatSlowStarts(
  label: string,
  ringCapacity: number,
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
    return `  ${label.padEnd(24)}  ${`${ringCapacity / 1024} KiB`.padStart(8)}  chk ${String(s.id).padStart(3)}  ${ms(s.startDelayMs).padStart(5)} ms = ${legs}${wait}`;
  });
}
