/**
 * The pre-image log of numeric tables (numeric-slots.ts), in one SharedArrayBuffer: while the
 * packer thread reads a snapshot's tables, the record loop's first write to an entry the
 * snapshot may not have read yet appends the entry as it was (table-and-group id, key, value,
 * stamp) here before changing it. The packer reads the log once its scan of the slots is over:
 * a slot it saw change had its pre-image appended (and the length published) first.
 *
 * Layout: an Int32 header (L_LENGTH, L_DONE, L_CAPACITY, L_READ_FENCE), then keys, values (Float64), ids, stamps (Int32).
 */

/** Int32 index: entries appended (the loop publishes it with Atomics after each). */
export const L_LENGTH = 0;
/** Int32 index: 1 once the packer has read the log (the loop then stops appending); Atomics.notify'd. */
export const L_DONE = 1;
/** Int32 index: entries the log holds at most. */
export const L_CAPACITY = 2;
/** Int32 index the packer stores to between its reads of the slots and of L_LENGTH, only to order them. */
export const L_READ_FENCE = 3;
export const LOG_HEADER_BYTES = 16;
/** Bytes per entry: key, value (8 B each), id, stamp (4 B each). */
export const LOG_ENTRY_BYTES = 24;

export interface PreImageViews {
  header: Int32Array;
  keys: Float64Array;
  values: Float64Array;
  ids: Int32Array;
  stamps: Int32Array;
}

export function preImageViews(buffer: SharedArrayBuffer): PreImageViews {
  const header = new Int32Array(buffer, 0, 4);
  const cap = header[L_CAPACITY];
  return {
    header,
    keys: new Float64Array(buffer, LOG_HEADER_BYTES, cap),
    values: new Float64Array(buffer, LOG_HEADER_BYTES + 8 * cap, cap),
    ids: new Int32Array(buffer, LOG_HEADER_BYTES + 16 * cap, cap),
    stamps: new Int32Array(buffer, LOG_HEADER_BYTES + 20 * cap, cap),
  };
}

export function preImageBuffer(capacity: number): SharedArrayBuffer {
  const buffer = new SharedArrayBuffer(LOG_HEADER_BYTES + LOG_ENTRY_BYTES * capacity);
  new Int32Array(buffer, 0, 4)[L_CAPACITY] = capacity;
  return buffer;
}
