/**
 * The job-wide control block every task polls (one Int32Array per deployment): the main
 * thread sets a cell, each task reads it between batches. The figures the tasks publish have
 * their own layout, observe/metrics-layout.ts.
 *
 * control (Int32Array)
 *   [CONTROL_CANCEL]
 */

/** Non-zero once the job is being cancelled: every task leaves its loop. */
export const CONTROL_CANCEL = 0;
export const CONTROL_INT32S = 4;
