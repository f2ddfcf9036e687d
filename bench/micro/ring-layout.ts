/** Shared counter of the ring micro-benchmark: Int32 slots. */
export const COUNTER_CONSUMED = 0;
export const COUNTER_INT32S = 1;
