/**
 * The calling thread's garbage-collection pauses, kept for the checkpoint start-delay
 * diagnostic (EDDY_CHECKPOINT_TRACE=1): did a GC stop the coordinator or a task between a
 * trigger and that task starting its part? Off by default: an observer delivers an entry per
 * GC, scavenges included, to the thread's event loop.
 *
 * Entries arrive on the event loop after the pause, so a window is asked about once its task
 * has acknowledged (a few event-loop turns later), not at the barrier.
 */
import { PerformanceObserver } from 'node:perf_hooks';

/** The last pauses kept (a ring): a checkpoint's window is a few ms, so the newest few suffice. */
const KEPT = 64;

/** Whether checkpoint legs and GC pauses are traced (the backpressure bench sets it). */
export const checkpointTraceOn = (): boolean => process.env.EDDY_CHECKPOINT_TRACE === '1';

let starts: Float64Array | undefined;
let ends: Float64Array | undefined;
let next = 0;

/** Starts keeping this thread's GC pauses (once per thread; no-op when tracing is off). */
export function traceGcPauses(): void {
  if (starts !== undefined || !checkpointTraceOn()) return;
  starts = new Float64Array(KEPT);
  ends = new Float64Array(KEPT);
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const at = performance.timeOrigin + e.startTime;
      starts![next % KEPT] = at;
      ends![next % KEPT] = at + e.duration;
      next++;
    }
  }).observe({ entryTypes: ['gc'] });
}

/** Ms of GC pause of this thread within [from, to] (wall clock, timeOrigin + now); undefined when not traced. */
export function gcPauseWithin(from: number, to: number): number | undefined {
  if (starts === undefined || ends === undefined) return undefined;
  let ms = 0;
  for (let k = 0; k < Math.min(next, KEPT); k++) ms += Math.max(0, Math.min(to, ends[k]) - Math.max(from, starts[k]));
  return ms;
}
