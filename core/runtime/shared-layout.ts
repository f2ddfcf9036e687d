/**
 * The job-wide shared memory besides the rings: a control block every task polls, and the
 * metrics block every task writes its counters into (one writer per slot, read by the main
 * thread for progress and the result, so plain stores suffice there).
 *
 * control (Int32Array)            metrics (Float64Array)
 *   [CONTROL_CANCEL]                [slot*2 + METRIC_RECORDS_IN]
 *                                   [slot*2 + METRIC_RECORDS_OUT]
 * A slot is one (stream node, subtask); slots of a node are contiguous, see metricsSlot().
 */

/** Non-zero once the job is being cancelled: every task leaves its loop. */
export const CONTROL_CANCEL = 0;
export const CONTROL_INT32S = 4;

export const METRIC_RECORDS_IN = 0;
export const METRIC_RECORDS_OUT = 1;
export const METRICS_PER_SLOT = 2;

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
