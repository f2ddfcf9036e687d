/**
 * The shared memory the tasks publish their figures into, read by the main thread (the
 * sampler here, progress and the job's result in runtime/): the metrics block every task
 * writes its operators' counters into, and one counters block per task for what belongs to
 * the task as a whole (its time accounting and watermarks). runtime/deployment.ts allocates
 * them, workers/task.ts writes them. The layout lives on the observer's floor, below both, so
 * that neither the observer nor the runtime has to import the other for it. Each cell has one
 * writer (the task's thread); plain stores suffice (a reader may see a value one publish old).
 *
 * metrics (Float64Array), one slot per (stream node, subtask)
 *   [slot*METRICS_PER_SLOT + METRIC_RECORDS_IN]
 *   [slot*METRICS_PER_SLOT + METRIC_RECORDS_OUT]
 *   [slot*METRICS_PER_SLOT + METRIC_STATE_ENTRIES]
 * A slot's node-subtasks are contiguous, see metricsSlotBases().
 *
 * task counters (Float64Array, one SharedArrayBuffer per task)
 *   [TASK_IDLE_MS]            accumulated ms parked with nothing to read (the gate)
 *   [TASK_IDLE_SINCE]         wall ms the current park began, 0 when not parked
 *   [TASK_BACKPRESSURED_MS]   accumulated ms waiting for space in an output ring
 *   [TASK_BACKPRESSURED_SINCE] wall ms the current wait began, 0 when not waiting
 *   [TASK_INPUT_WATERMARK]    the watermark over the task's inputs (-Infinity before the first)
 *   [TASK_OUTPUT_WATERMARK]   the last watermark the task sent downstream
 * Bytes in and out are not counted by the task: the main thread reads them off the rings'
 * read and write positions.
 */

export const METRIC_RECORDS_IN = 0;
export const METRIC_RECORDS_OUT = 1;
/** Keys with state, over all the operator's state tables (keyed operators only). */
export const METRIC_STATE_ENTRIES = 2;
export const METRICS_PER_SLOT = 3;

export const TASK_IDLE_MS = 0;
export const TASK_IDLE_SINCE = 1;
export const TASK_BACKPRESSURED_MS = 2;
export const TASK_BACKPRESSURED_SINCE = 3;
export const TASK_INPUT_WATERMARK = 4;
export const TASK_OUTPUT_WATERMARK = 5;
export const TASK_COUNTERS = 6;

/** First slot of each stream node, given the parallelism of every node in id order. */
export function metricsSlotBases(parallelism: readonly number[]): number[] {
  const bases: number[] = [];
  let next = 0;
  for (const p of parallelism) {
    bases.push(next);
    next += p;
  }
  return bases;
}

export function metricsBytes(parallelism: readonly number[]): number {
  return parallelism.reduce((a, b) => a + b, 0) * METRICS_PER_SLOT * 8;
}

/** A task's counters block, watermarks at -Infinity until the task has one. */
export function createTaskCounters(): SharedArrayBuffer {
  const sab = new SharedArrayBuffer(TASK_COUNTERS * 8);
  const f = new Float64Array(sab);
  f[TASK_INPUT_WATERMARK] = -Infinity;
  f[TASK_OUTPUT_WATERMARK] = -Infinity;
  return sab;
}
