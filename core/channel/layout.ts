/**
 * Every shared-memory offset of a channel, in one place.
 *
 * A ring is one SharedArrayBuffer: a header of HEADER_BYTES followed by `capacity` data
 * bytes (a power of two). The producer owns WRITE_POS, the consumer owns READ_POS; each sits
 * on its own 64-byte cache line so the two threads do not false-share.
 *
 *   byte 0            64             128               192               256          320
 *   +----------------+--------------+-----------------+-----------------+------------+------ - -
 *   | WRITE_POS      | READ_POS     | PRODUCER_PARKED | STATE           | PRIO_*     | data ...
 *   | (producer)     | SPACE_SEQ    |                 | CAPACITY        | (producer) | capacity
 *   |                | SOFT_CAPACITY|                 |                 |            |
 *   +----------------+--------------+-----------------+-----------------+------------+------ - -
 *
 * SOFT_CAPACITY (buffer debloating) is written by the consumer, a few times a second, on the
 * line the producer reads anyway for READ_POS: the producer treats the ring as full beyond it.
 *
 * The priority mailbox (line at byte 256) is how an unaligned barrier overtakes the data
 * queued in the ring: one slot, written by the producer, read by the consumer.
 *
 *   256        260        264        268        272                 280
 *   +----------+----------+----------+----------+-------------------+
 *   | PRIO_SEQ | PRIO_ID  | PRIO_FLAGS| PRIO_CUT | PRIO_TS (f64)     |
 *   | i32      | i32      | i32      | u32      | trigger time      |
 *   +----------+----------+----------+----------+-------------------+
 *
 * PRIO_CUT is the producer's WRITE_POS when the barrier overtook: the data before it is the
 * consumer's in-flight input for that checkpoint. The producer writes the fields, then bumps
 * PRIO_SEQ (a release) before it writes anything at or after the cut, so a consumer that sees
 * a frame at or after the cut sees the mailbox too if it loads PRIO_SEQ after that frame's
 * WRITE_POS load. One slot is enough: one checkpoint is in flight at a time, and a newer one
 * overwriting an unread older one means the older was aborted.
 *
 * Positions are free-running u32 byte counters (stored in an Int32Array and read with
 * `>>> 0`); `pos & (capacity - 1)` is the offset in the data area. Because capacity divides
 * 2^32, the counters may wrap around 2^32 without any special case.
 *
 * A frame in the data area (all frames are 8-byte aligned, so a frame never straddles the
 * end except through an explicit WRAP frame):
 *
 *   0        4        6        8                              8 + length (padded to 8)
 *   +--------+--------+--------+------------------------------+
 *   | length | type   | flags  | payload (length bytes)       |
 *   | u32    | u16    | u16    |                              |
 *   +--------+--------+--------+------------------------------+
 *
 * The consumer side's doorbell is not in the ring: all rings feeding one task share that
 * task's gate (GATE_* below), so a consumer with many inputs parks on a single address.
 */

// ---- ring header, Int32Array indices ----
export const RING_WRITE_POS = 0; // byte 0
export const RING_READ_POS = 16; // byte 64
/** Bumped by the consumer every time it frees space; a blocked producer waits on it. */
export const RING_SPACE_SEQ = 17;
/**
 * Buffer debloating: the bytes the consumer wants in flight in this ring (its throughput times
 * the target, see debloat.ts); 0 when off. The producer writes a frame only while the ring
 * holds less than that, except into an empty ring, so any frame still gets through.
 */
export const RING_SOFT_CAPACITY = 18; // byte 72
/**
 * Non-zero while the producer is (about to be) waiting for space: the number of free bytes it
 * waits for. The consumer notifies only then, and only once that much is free.
 */
export const RING_PRODUCER_PARKED = 32; // byte 128
export const RING_STATE = 48; // byte 192
export const RING_CAPACITY = 49;
/** Bumped (after the other PRIO_* fields are written) by each priority event. */
export const RING_PRIO_SEQ = 64; // byte 256
/** Checkpoint id of the overtaking barrier. */
export const RING_PRIO_ID = 65;
/** Its BARRIER_FLAG_*. */
export const RING_PRIO_FLAGS = 66;
/** The producer's WRITE_POS when the barrier overtook (u32 position). */
export const RING_PRIO_CUT = 67;
/** Float64Array index of the trigger timestamp (byte 272). */
export const RING_PRIO_TS_F64 = 34;
export const RING_HEADER_BYTES = 320;

// ---- RING_STATE values ----
export const RING_OPEN = 0;
/** The producer wrote its last frame (end-of-stream) and will write no more. */
export const RING_CLOSED = 1;
/** The producer died or the job was cancelled: the consumer must stop reading. */
export const RING_POISONED = 2;

// ---- frame header ----
export const FRAME_HEADER_BYTES = 8;
export const FRAME_LENGTH_OFFSET = 0; // u32
export const FRAME_TYPE_OFFSET = 4; // u16
export const FRAME_FLAGS_OFFSET = 6; // u16
export const FRAME_ALIGN = 8;

// ---- frame types ----
/** Fills the tail of the data area when the next frame does not fit before the end. */
export const FRAME_WRAP = 0;
export const FRAME_RECORDS = 1;
export const FRAME_BARRIER = 2;
export const FRAME_CANCEL_BARRIER = 3;
export const FRAME_WATERMARK = 4;
export const FRAME_END_OF_STREAM = 5;

/** Barrier flag: the final checkpoint of a bounded job (after it, the task may end). */
export const BARRIER_FLAG_FINAL = 1;
/** Barrier flag: a savepoint (always a full snapshot in the canonical format). */
export const BARRIER_FLAG_SAVEPOINT = 2;
/**
 * Barrier flag: stop-with-savepoint. Sources read nothing after it and every task ends once
 * the savepoint completes (sinks commit); if it fails, they carry on as before.
 */
export const BARRIER_FLAG_STOP = 4;
/**
 * Barrier flag: an unaligned checkpoint. Its barrier overtakes the data ahead of it (through
 * the ring's priority mailbox), and the data it overtook is stored with the checkpoint.
 * Never set together with FINAL, SAVEPOINT or STOP: those are always aligned.
 */
export const BARRIER_FLAG_UNALIGNED = 8;
/**
 * Records flag: the batch carries event timestamps. Its payload is then the msgpack of
 * `[records, timestamps]` (two arrays of equal length) instead of `records`; streams without
 * event time never set it and pay nothing for timestamps.
 */
export const RECORDS_FLAG_TIMESTAMPS = 1;
/**
 * Watermark frame: one f64, the watermark. With this flag the producer went idle instead
 * (the number is its last watermark): consumers leave the channel out of their minimum
 * until a watermark frame without the flag arrives.
 */
export const WATERMARK_FLAG_IDLE = 1;

export type FrameType =
  typeof FRAME_RECORDS | typeof FRAME_BARRIER | typeof FRAME_CANCEL_BARRIER | typeof FRAME_WATERMARK | typeof FRAME_END_OF_STREAM;

export const FRAME_TYPE_NAMES: Record<number, string> = {
  [FRAME_WRAP]: 'wrap',
  [FRAME_RECORDS]: 'records',
  [FRAME_BARRIER]: 'barrier',
  [FRAME_CANCEL_BARRIER]: 'cancel-barrier',
  [FRAME_WATERMARK]: 'watermark',
  [FRAME_END_OF_STREAM]: 'end-of-stream',
};

// ---- gate: one small SharedArrayBuffer per consuming task ----
/** Bumped by every producer after it publishes a frame into any ring of this gate. */
export const GATE_SEQ = 0;
/** 1 while the consumer is (about to be) parked: producers call Atomics.notify only then. */
export const GATE_PARKED = 1;
/**
 * Bumped by a producer after it publishes a priority event into any ring of this gate (and
 * then the gate is rung whether or not the task is parked): the consumer compares it with the
 * value it last saw, once per input frame and every 64 records of one, and looks at its
 * rings' mailboxes only on a change.
 */
export const GATE_PRIO_SEQ = 2;
/**
 * A source task's armed trigger (core/checkpoint/armed-trigger.ts): the coordinator leaves the
 * next periodic checkpoint here ahead of its due time and the source takes it itself when due,
 * so the main thread is not on the trigger's path. A seqlock: GATE_TRIGGER_SEQ is odd while
 * the fields are written; GATE_TRIGGER_ID 0 means nothing armed (withdrawn).
 */
export const GATE_TRIGGER_SEQ = 3;
export const GATE_TRIGGER_ID = 4;
/** The checkpoint's BARRIER_FLAG_*. */
export const GATE_TRIGGER_FLAGS = 5;
/** Float64 index (bytes 24–31): when the armed checkpoint is due, wall-clock ms (timeOrigin + now). */
export const GATE_TRIGGER_DUE_F64 = 3;
export const GATE_INT32S = 8;
export const GATE_BYTES = GATE_INT32S * 4;

export const DEFAULT_RING_CAPACITY = 256 * 1024;
export const MIN_RING_CAPACITY = 1024;
