/** The shared cells of wake-latency.ts and its threads (Int32 indexes). */
export const WAKE_SEQ = 0;
export const WAKE_STOP = 1;
export const WAKE_CELLS = 2;

export interface WakeWorkerData {
  role: 'spin' | 'wait' | 'waitAsync';
  /** WAKE_CELLS Int32 cells. */
  cells: SharedArrayBuffer;
  /** One Float64: when the main thread notified (timeOrigin + now, the same clock on every thread). */
  sentAt: SharedArrayBuffer;
  /** One Float64 per sample, the waiter's latencies in ms. */
  latencies: SharedArrayBuffer;
}
