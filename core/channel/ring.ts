/**
 * Single-producer single-consumer ring over a SharedArrayBuffer. Byte layout and every
 * offset: see layout.ts.
 *
 * - A frame is written whole or not at all: the producer copies header and payload, then
 *   publishes them with one store of WRITE_POS.
 * - A full ring makes `tryWrite` return false; the producer then waits for space: a task on
 *   its own gate (`waitForSpaceOrWake`, `blockForSpaceOrWake`), which a consumer given that
 *   gate rings; a bare producer on SPACE_SEQ (`waitForSpace`), with a consumer given no gate.
 * - An empty ring makes `poll` return false; the consumer parks on its task's gate
 *   (see gate.ts), which every producer of that task rings.
 * - RING_STATE tells the consumer that the producer finished (CLOSED) or died (POISONED).
 *
 * The largest frame is half the capacity: then a frame always fits after at most one WRAP
 * frame once the consumer has drained the ring, so a writer can never wait forever.
 */
import {
  FRAME_ALIGN,
  FRAME_FLAGS_OFFSET,
  FRAME_HEADER_BYTES,
  FRAME_LENGTH_OFFSET,
  FRAME_RECORDS,
  FRAME_TYPE_OFFSET,
  FRAME_WATERMARK,
  FRAME_WRAP,
  GATE_PARKED,
  GATE_PRIO_SEQ,
  GATE_SEQ,
  MIN_RING_CAPACITY,
  RING_CAPACITY,
  RING_CLOSED,
  RING_HEADER_BYTES,
  RING_OPEN,
  RING_POISONED,
  RING_PRIO_CUT,
  RING_PRIO_FLAGS,
  RING_PRIO_ID,
  RING_PRIO_SEQ,
  RING_PRIO_TS_F64,
  RING_PRODUCER_PARKED,
  RING_READ_POS,
  RING_SOFT_CAPACITY,
  RING_SPACE_SEQ,
  RING_STATE,
  RING_WRITE_POS,
} from './layout.js';
import { keepAlive } from './keep-alive.js';

/**
 * A new ring of `capacity` data bytes. `softCapacity` (buffer debloating, see debloat.ts) is
 * where the producer starts, set here so that it holds before the consumer runs; 0: no limit.
 */
export function createRing(capacity: number, softCapacity = 0): SharedArrayBuffer {
  if (!Number.isInteger(capacity) || capacity < MIN_RING_CAPACITY || (capacity & (capacity - 1)) !== 0) {
    throw new RangeError(`ring capacity must be a power of two >= ${MIN_RING_CAPACITY}, got ${capacity}`);
  }
  const sab = new SharedArrayBuffer(RING_HEADER_BYTES + capacity);
  const hdr = new Int32Array(sab);
  hdr[RING_CAPACITY] = capacity;
  if (softCapacity > 0 && softCapacity < capacity) hdr[RING_SOFT_CAPACITY] = softCapacity;
  return sab;
}

function alignUp(n: number): number {
  return (n + FRAME_ALIGN - 1) & ~(FRAME_ALIGN - 1);
}

/** Largest payload a ring of this capacity accepts in one frame. */
export function maxPayloadBytes(capacity: number): number {
  return capacity / 2 - FRAME_HEADER_BYTES;
}

export class RingProducer {
  private readonly hdr: Int32Array;
  private readonly gate: Int32Array;
  private readonly bytes: Uint8Array;
  private readonly view: DataView;
  private readonly f64: Float64Array;
  readonly capacity: number;
  private readonly mask: number;
  readonly maxPayload: number;
  /** Our own copy of WRITE_POS: only this side writes it. */
  private writePos: number;
  private readonly hdrF64: Float64Array;

  constructor(ring: SharedArrayBuffer, gate: SharedArrayBuffer) {
    this.hdr = new Int32Array(ring, 0, RING_HEADER_BYTES / 4);
    this.hdrF64 = new Float64Array(ring, 0, RING_HEADER_BYTES / 8);
    this.gate = new Int32Array(gate);
    this.capacity = this.hdr[RING_CAPACITY];
    this.mask = this.capacity - 1;
    this.maxPayload = maxPayloadBytes(this.capacity);
    this.bytes = new Uint8Array(ring, RING_HEADER_BYTES, this.capacity);
    this.view = new DataView(ring, RING_HEADER_BYTES, this.capacity);
    this.f64 = new Float64Array(ring, RING_HEADER_BYTES, this.capacity / 8);
    this.writePos = Atomics.load(this.hdr, RING_WRITE_POS) >>> 0;
  }

  get state(): number {
    return Atomics.load(this.hdr, RING_STATE);
  }

  /**
   * Reserves room for a frame with `payloadLength` bytes and writes its header; returns the
   * byte offset (in the data area) where the payload goes, or -1 if the ring is full.
   * The frame is invisible to the consumer until `publish`.
   */
  private reserve(type: number, flags: number, payloadLength: number): number {
    const frame = alignUp(FRAME_HEADER_BYTES + payloadLength);
    let w = this.writePos;
    let off = w & this.mask;
    const tail = this.capacity - off;
    // Atomics.load: see the consumer's latest READ_POS; the bytes it released are free.
    const used = (w - (Atomics.load(this.hdr, RING_READ_POS) >>> 0)) >>> 0;
    const free = this.freeBytes(used);
    if (tail < frame) {
      if (free < tail + frame) return -1;
      // Pad the tail with a WRAP frame; tail is a multiple of 8 and > 0, so a header fits.
      this.view.setUint32(off + FRAME_LENGTH_OFFSET, tail - FRAME_HEADER_BYTES, true);
      this.view.setUint16(off + FRAME_TYPE_OFFSET, FRAME_WRAP, true);
      w = (w + tail) >>> 0;
      off = 0;
    } else if (free < frame) {
      return -1;
    }
    this.view.setUint32(off + FRAME_LENGTH_OFFSET, payloadLength, true);
    this.view.setUint16(off + FRAME_TYPE_OFFSET, type, true);
    this.view.setUint16(off + FRAME_FLAGS_OFFSET, flags, true);
    this.pendingPos = (w + frame) >>> 0;
    return off + FRAME_HEADER_BYTES;
  }

  private pendingPos = 0;

  private publish(): void {
    this.writePos = this.pendingPos;
    // Atomics.store: a release; the consumer's Atomics.load of WRITE_POS then sees the
    // header and payload bytes written before it.
    Atomics.store(this.hdr, RING_WRITE_POS, this.writePos | 0);
    // Dekker with the consumer's park: it sets GATE_PARKED, then re-reads WRITE_POS; we
    // stored WRITE_POS, then read GATE_PARKED. With sequentially consistent atomics one of
    // us sees the other, so a wake-up is never lost, and notify (a syscall) is paid only
    // when the consumer actually sleeps. The flag is taken with the wake-up (exchange): the
    // frames published before the woken consumer runs, by this producer or another of the
    // gate, then see 0 and ring nobody (each ring is a notify through V8's process-wide
    // futex mutex, see BlockingDrain). The consumer's wait still returns: GATE_SEQ moved
    // after it armed (and read it), and it re-arms before it parks again.
    if (Atomics.load(this.gate, GATE_PARKED) !== 0 && Atomics.exchange(this.gate, GATE_PARKED, 0) !== 0) ringGate(this.gate);
  }

  /** Writes a frame whose payload is `payload` (may be empty). False if the ring is full. */
  tryWrite(type: number, flags: number, payload?: Uint8Array): boolean {
    const len = payload ? payload.length : 0;
    if (len > this.maxPayload) throw new RangeError(`frame of ${len} bytes exceeds the ring's maximum ${this.maxPayload}`);
    if (Atomics.load(this.hdr, RING_STATE) === RING_POISONED) return false;
    const at = this.reserve(type, flags, len);
    if (at < 0) return false;
    if (payload && len > 0) this.bytes.set(payload, at);
    this.publish();
    return true;
  }

  /** Writes a frame carrying up to three float64 numbers, without allocating. */
  tryWriteNumbers(type: number, flags: number, count: number, a = 0, b = 0, c = 0): boolean {
    // Only three slots are written: a larger count would publish stale ring bytes as numbers.
    if (count !== 0 && count !== 1 && count !== 2 && count !== 3) throw new RangeError(`tryWriteNumbers: count must be 0..3, got ${count}`);
    if (Atomics.load(this.hdr, RING_STATE) === RING_POISONED) return false;
    const at = this.reserve(type, flags, count * 8);
    if (at < 0) return false;
    const i = at >> 3; // payload offsets are 8-aligned
    if (count > 0) this.f64[i] = a;
    if (count > 1) this.f64[i + 1] = b;
    if (count > 2) this.f64[i + 2] = c;
    this.publish();
    return true;
  }

  /**
   * The bytes that may still be written when `used` are in the ring: up to the capacity, or
   * with buffer debloating up to the consumer's soft capacity, except that an empty ring takes
   * any frame (one larger than the soft capacity must not wait forever). A plain read of the
   * soft capacity: it changes a few times a second and a stale value only delays its effect.
   */
  private freeBytes(used: number): number {
    const soft = this.hdr[RING_SOFT_CAPACITY];
    return soft === 0 || used === 0 || soft >= this.capacity ? this.capacity - used : soft - used;
  }

  /** The consumer's soft capacity (buffer debloating), or 0 when it sets none. */
  get softCapacity(): number {
    return this.hdr[RING_SOFT_CAPACITY];
  }

  /** Free bytes a frame of this payload needs at the current write position (wrap included). */
  private spaceNeeded(payloadLength: number): number {
    const frame = alignUp(FRAME_HEADER_BYTES + payloadLength);
    const tail = this.capacity - (this.writePos & this.mask);
    return tail < frame ? tail + frame : frame;
  }

  /** True if a frame with this payload length would fit right now. */
  hasSpaceFor(payloadLength: number): boolean {
    const used = (this.writePos - (Atomics.load(this.hdr, RING_READ_POS) >>> 0)) >>> 0;
    return this.freeBytes(used) >= this.spaceNeeded(payloadLength);
  }

  /**
   * Resolves once a frame of `payloadLength` fits, or the ring is poisoned (check `state`),
   * or `timeoutMs` passes (see waitForSpaceOrWake for a wait that more than space ends). Only
   * with a consumer given no producer gate: one given a gate wakes the producer there instead.
   */
  async waitForSpace(payloadLength: number, timeoutMs = Infinity): Promise<void> {
    const deadline = timeoutMs === Infinity ? Infinity : Date.now() + timeoutMs;
    for (;;) {
      // Read the sequence first: a release that happens after this read changes it, so the
      // wait below returns at once instead of missing that release.
      const seq = Atomics.load(this.hdr, RING_SPACE_SEQ);
      // Tell the consumer how much free space we wait for, so it wakes us once, when it is
      // there, rather than after every frame it frees.
      Atomics.store(this.hdr, RING_PRODUCER_PARKED, this.spaceNeeded(payloadLength));
      if (this.hasSpaceFor(payloadLength) || Atomics.load(this.hdr, RING_STATE) === RING_POISONED) {
        Atomics.store(this.hdr, RING_PRODUCER_PARKED, 0);
        break;
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        Atomics.store(this.hdr, RING_PRODUCER_PARKED, 0);
        break;
      }
      const r = Atomics.waitAsync(this.hdr, RING_SPACE_SEQ, seq, left === Infinity ? undefined : left);
      if (r.async) await keepAlive(r.value);
      Atomics.store(this.hdr, RING_PRODUCER_PARKED, 0);
    }
  }

  /**
   * Waits (once) for space as `waitForSpace` does, but on the producing task's own gate, the
   * one word that everything able to unblock the task rings: the consumer freeing space (its
   * RingConsumer knows this gate), a command, a priority event, cancellation. Returns after
   * one wake-up, the timeout, or at once if the frame fits; the caller re-checks why.
   * `seq` is the gate's GATE_SEQ read before the caller's own last checks (commands, triggers):
   * a ring after that read ends the wait at once (read here, it could miss one).
   */
  async waitForSpaceOrWake(payloadLength: number, taskGate: Int32Array, seq: number, timeoutMs: number): Promise<void> {
    if (this.announceWait(payloadLength)) {
      const r = Atomics.waitAsync(taskGate, GATE_SEQ, seq, timeoutMs);
      if (r.async) await keepAlive(r.value);
    }
    Atomics.store(this.hdr, RING_PRODUCER_PARKED, 0);
  }

  /**
   * `waitForSpaceOrWake` with the thread blocked (Atomics.wait) instead of its event loop
   * waiting: the wake-up (a ring, or the timeout, to the microsecond) runs the caller at once,
   * not after a turn of the event loop and its millisecond timers. For a caller that needs
   * nothing from its event loop meanwhile (see waits.ts, BlockingDrain); `timeoutMs` short.
   */
  blockForSpaceOrWake(payloadLength: number, taskGate: Int32Array, seq: number, timeoutMs: number): void {
    if (this.announceWait(payloadLength)) Atomics.wait(taskGate, GATE_SEQ, seq, timeoutMs);
    Atomics.store(this.hdr, RING_PRODUCER_PARKED, 0);
  }

  /**
   * Tells the consumer the space a waiter needs, then checks it: true if the caller must wait
   * (the frame does not fit and the ring is not poisoned). The caller read the gate's sequence
   * first (Dekker with RingConsumer.release) and clears RING_PRODUCER_PARKED after its wait.
   */
  private announceWait(payloadLength: number): boolean {
    Atomics.store(this.hdr, RING_PRODUCER_PARKED, this.spaceNeeded(payloadLength));
    return !this.hasSpaceFor(payloadLength) && Atomics.load(this.hdr, RING_STATE) !== RING_POISONED;
  }

  /** The write position (a free-running u32): where the next frame goes. */
  get position(): number {
    return this.writePos;
  }

  /**
   * Publishes a barrier that overtakes everything in the ring: checkpoint `id` cuts this
   * channel at `cut` (normally `position`). Fields first, then PRIO_SEQ (the release the
   * consumer's load pairs with), then the consumer gate's priority doorbell, and the gate is
   * rung even if the task is not parked: it may be waiting for output space (see gate.ts).
   * Must be called before anything at or after `cut` is written.
   */
  publishPriority(id: number, timestamp: number, flags: number, cut: number): void {
    this.hdr[RING_PRIO_ID] = id;
    this.hdr[RING_PRIO_FLAGS] = flags;
    this.hdr[RING_PRIO_CUT] = cut | 0;
    this.hdrF64[RING_PRIO_TS_F64] = timestamp;
    Atomics.add(this.hdr, RING_PRIO_SEQ, 1);
    Atomics.add(this.gate, GATE_PRIO_SEQ, 1);
    ringGate(this.gate);
  }

  /** The producer has written its last frame. */
  close(): void {
    Atomics.compareExchange(this.hdr, RING_STATE, RING_OPEN, RING_CLOSED);
    ringGate(this.gate);
  }
}

/** A frame copied out of a ring (in-flight data of a checkpoint): owns its payload. */
export interface OwnedFrame {
  type: number;
  flags: number;
  payload: Uint8Array;
}

/** Where a copy of `len` bytes goes: fresh memory, or memory the caller reuses (an in-flight arena). */
export type ByteAlloc = (len: number) => Uint8Array;
export const freshBytes: ByteAlloc = (len) => new Uint8Array(len);

/** The last priority event a consumer read from its ring's mailbox. */
export interface PriorityEvent {
  seq: number;
  id: number;
  flags: number;
  cut: number;
  timestamp: number;
}

export class RingConsumer {
  private readonly hdr: Int32Array;
  private readonly hdrF64: Float64Array;
  /** The producing task's gate: rung when space frees up for it (it waits there, see waitForSpaceOrWake). */
  private readonly producerGate: Int32Array | undefined;
  readonly bytes: Uint8Array;
  private readonly f64: Float64Array;
  private readonly view: DataView;
  readonly buffer: SharedArrayBuffer;
  readonly capacity: number;
  private readonly mask: number;
  private readPos: number;
  /** Last WRITE_POS seen: while readPos is behind it there is data without an atomic load. */
  private knownWrite: number;
  /** The bytes the producer may fill: the capacity, or the soft capacity this side set. */
  private limit: number;

  // The current frame, valid between a successful poll() and release().
  frameType = -1;
  frameFlags = 0;
  /** Byte offset of the payload within the SharedArrayBuffer (header included). */
  payloadOffset = 0;
  payloadLength = 0;
  private frameEnd = 0;

  constructor(ring: SharedArrayBuffer, producerGate?: SharedArrayBuffer) {
    this.buffer = ring;
    this.hdr = new Int32Array(ring, 0, RING_HEADER_BYTES / 4);
    this.hdrF64 = new Float64Array(ring, 0, RING_HEADER_BYTES / 8);
    this.producerGate = producerGate ? new Int32Array(producerGate) : undefined;
    this.capacity = this.hdr[RING_CAPACITY];
    this.mask = this.capacity - 1;
    this.bytes = new Uint8Array(ring, RING_HEADER_BYTES, this.capacity);
    this.view = new DataView(ring, RING_HEADER_BYTES, this.capacity);
    this.f64 = new Float64Array(ring, RING_HEADER_BYTES, this.capacity / 8);
    this.readPos = Atomics.load(this.hdr, RING_READ_POS) >>> 0;
    this.knownWrite = this.readPos;
    this.limit = this.hdr[RING_SOFT_CAPACITY] || this.capacity;
  }

  /**
   * Buffer debloating: let the producer fill only `bytes` of the ring (0: all of it). The
   * producer sees it at its next write; one waiting for space is woken if it now fits (a
   * larger soft capacity) or, as always, once the ring empties (a smaller one).
   */
  setSoftCapacity(bytes: number): void {
    const soft = bytes <= 0 || bytes >= this.capacity ? 0 : Math.ceil(bytes);
    this.limit = soft || this.capacity;
    Atomics.store(this.hdr, RING_SOFT_CAPACITY, soft);
  }

  get state(): number {
    return Atomics.load(this.hdr, RING_STATE);
  }

  /** True when the producer closed the ring and every frame has been read. */
  get drained(): boolean {
    return (
      this.frameType < 0 &&
      Atomics.load(this.hdr, RING_STATE) === RING_CLOSED &&
      this.readPos === Atomics.load(this.hdr, RING_WRITE_POS) >>> 0
    );
  }

  /** Makes the next frame current; false if there is none yet. Idempotent until release(). */
  poll(): boolean {
    if (this.frameType >= 0) return true;
    let r = this.readPos;
    if (r === this.knownWrite) {
      // Atomics.load: an acquire; the frame bytes written before WRITE_POS are visible.
      this.knownWrite = Atomics.load(this.hdr, RING_WRITE_POS) >>> 0;
      if (r === this.knownWrite) return false;
    }
    let off = r & this.mask;
    let type = this.view.getUint16(off + FRAME_TYPE_OFFSET, true);
    if (type === FRAME_WRAP) {
      // The producer publishes a WRAP together with the frame after it, so one follows.
      r = (r + (this.capacity - off)) >>> 0;
      off = 0;
      type = this.view.getUint16(FRAME_TYPE_OFFSET, true);
    }
    const len = this.view.getUint32(off + FRAME_LENGTH_OFFSET, true);
    this.frameType = type;
    this.frameFlags = this.view.getUint16(off + FRAME_FLAGS_OFFSET, true);
    this.payloadOffset = RING_HEADER_BYTES + off + FRAME_HEADER_BYTES;
    this.payloadLength = len;
    this.frameEnd = (r + alignUp(FRAME_HEADER_BYTES + len)) >>> 0;
    return true;
  }

  /** The i-th float64 of the current frame's payload (control frames). */
  number(i: number): number {
    return this.f64[((this.payloadOffset - RING_HEADER_BYTES) >> 3) + i];
  }

  /** A view of the current payload (no copy); valid only until release(). */
  payload(): Buffer {
    return Buffer.from(this.buffer, this.payloadOffset, this.payloadLength);
  }

  /** Frees the current frame's bytes for the producer. */
  release(): void {
    if (this.frameType < 0) return;
    this.readPos = this.frameEnd;
    this.frameType = -1;
    // Atomics.store: our reads of the frame happen before the producer may overwrite it.
    Atomics.store(this.hdr, RING_READ_POS, this.readPos | 0);
    // Dekker with the producer's waitForSpace (see RingProducer.publish for the argument).
    const needed = Atomics.load(this.hdr, RING_PRODUCER_PARKED);
    if (needed !== 0) {
      // Wake the producer only when it can write, and then only once half the ring is free
      // (or the ring is empty): each wake costs this thread a futex call and, on a busy
      // machine, its time slice (the kernel tends to run the woken thread at once), and a
      // producer woken with little room writes a frame or two and parks again. Half, not a
      // quarter: measured in the keyed-count bench (`node dist/bench/index.js --suite keyed-count`),
      // half the wakes, and the consumer still has half a ring of frames to read while the
      // producer gets going.
      // No lost wake-up: while the producer waits it writes nothing, so every frame between
      // readPos and WRITE_POS is one this consumer will read and release; the release that
      // empties the ring (or frees half) sees `needed` (it was stored before the producer's
      // last space check, and we stored READ_POS before this load: Dekker, as in publish)
      // and notifies. `used` is from knownWrite, which may lag WRITE_POS; a lag only makes
      // `used` smaller, i.e. wakes earlier, never later than the real emptying.
      // With buffer debloating the producer fills only up to the soft capacity (`limit`), so
      // "free" and "half" are of that; an empty ring takes any frame (RingProducer.freeBytes).
      const used = (this.knownWrite - this.readPos) >>> 0;
      const free = this.limit - used;
      // The flag is taken with the wake-up (compare-exchange on the value read): the releases
      // after this one, before the woken producer runs and clears it, then notify nobody. If
      // the producer re-announced meanwhile with another size, the exchange fails and it
      // sees this release's space in its own check after announcing (Dekker as above).
      if (
        (used === 0 || (free >= needed && free >= this.limit >>> 1)) &&
        Atomics.compareExchange(this.hdr, RING_PRODUCER_PARKED, needed, 0) === needed
      ) {
        // add before notify: the producer's waitAsync compares SPACE_SEQ with the value it
        // read before its last space check, so a bump that lands between that check and
        // its wait makes the wait return at once instead of sleeping through this notify.
        Atomics.add(this.hdr, RING_SPACE_SEQ, 1);
        // One notify, where the producer waits: a task waits on its own gate (the drain), a
        // bare producer on SPACE_SEQ (waitForSpace, paired with a consumer that knows no gate).
        // Every notify takes V8's one process-wide futex mutex, and a thread preempted holding
        // it keeps every other thread's timed wait from returning (see BlockingDrain).
        if (this.producerGate !== undefined) ringGate(this.producerGate);
        else Atomics.notify(this.hdr, RING_SPACE_SEQ);
      }
    }
  }

  /** The read position (a free-running u32): the start of the current frame, if one is polled. */
  get position(): number {
    return this.readPos;
  }

  /**
   * Reads the mailbox into `out` (a seqlock: the fields are re-read if the producer published
   * again meanwhile); returns its sequence number, 0 if nothing was ever published.
   */
  readPriority(out: PriorityEvent): number {
    for (;;) {
      const seq = Atomics.load(this.hdr, RING_PRIO_SEQ);
      out.id = this.hdr[RING_PRIO_ID];
      out.flags = this.hdr[RING_PRIO_FLAGS];
      out.cut = this.hdr[RING_PRIO_CUT] >>> 0;
      out.timestamp = this.hdrF64[RING_PRIO_TS_F64];
      if (Atomics.load(this.hdr, RING_PRIO_SEQ) === seq) return (out.seq = seq);
    }
  }

  /**
   * Copies the data frames (records, watermarks) between positions `from` and `to` without
   * consuming them, in order, into `out`. WRAP, barriers and end-of-stream are left out: they
   * are regenerated, never replayed. `to` must be a frame boundary the producer published.
   */
  copyFrames(from: number, to: number, out: OwnedFrame[], alloc: ByteAlloc = freshBytes): void {
    let r = from >>> 0;
    while (r !== to) {
      let off = r & this.mask;
      let type = this.view.getUint16(off + FRAME_TYPE_OFFSET, true);
      if (type === FRAME_WRAP) {
        r = (r + (this.capacity - off)) >>> 0;
        if (r === to) break;
        off = 0;
        type = this.view.getUint16(FRAME_TYPE_OFFSET, true);
      }
      const len = this.view.getUint32(off + FRAME_LENGTH_OFFSET, true);
      if (isDataFrame(type)) {
        const at = off + FRAME_HEADER_BYTES;
        out.push({ type, flags: this.view.getUint16(off + FRAME_FLAGS_OFFSET, true), payload: this.copyOut(at, len, alloc) });
      }
      r = (r + alignUp(FRAME_HEADER_BYTES + len)) >>> 0;
    }
  }

  /** A copy of the current frame (between poll and release). */
  copyCurrent(alloc: ByteAlloc = freshBytes): OwnedFrame {
    const at = this.payloadOffset - RING_HEADER_BYTES;
    return { type: this.frameType, flags: this.frameFlags, payload: this.copyOut(at, this.payloadLength, alloc) };
  }

  private copyOut(at: number, len: number, alloc: ByteAlloc): Uint8Array {
    const copy = alloc(len);
    copy.set(this.bytes.subarray(at, at + len));
    return copy;
  }
}

/** Records and watermarks: the frames that are in-flight data of a checkpoint. */
export function isDataFrame(type: number): boolean {
  return type === FRAME_RECORDS || type === FRAME_WATERMARK;
}

/**
 * Marks a ring dead (its producer or the job failed) and wakes both sides. A ring that was
 * already CLOSED keeps that state (see below); both sides are woken all the same.
 */
export function poisonRing(ring: SharedArrayBuffer, gate?: SharedArrayBuffer): void {
  const hdr = new Int32Array(ring, 0, RING_HEADER_BYTES / 4);
  // compareExchange, not store: a ring its producer already CLOSED holds a complete stream
  // (end-of-stream included), so the producer's thread exiting afterwards (the runtime
  // poisons on every 'exit') must not turn that clean end into a failure for a consumer
  // that is still draining it. A poisoned ring stays poisoned; only an OPEN ring changes.
  Atomics.compareExchange(hdr, RING_STATE, RING_OPEN, RING_POISONED);
  Atomics.add(hdr, RING_SPACE_SEQ, 1);
  Atomics.notify(hdr, RING_SPACE_SEQ);
  if (gate) ringGate(new Int32Array(gate));
}

/** Wakes the consumer parked on this gate (see gate.ts). */
export function ringGate(gate: Int32Array): void {
  Atomics.add(gate, GATE_SEQ, 1);
  Atomics.notify(gate, GATE_SEQ);
}

/** The ring's RING_STATE (open, closed or poisoned), read from any thread. */
export function ringState(ring: SharedArrayBuffer): number {
  return Atomics.load(new Int32Array(ring, 0, RING_HEADER_BYTES / 4), RING_STATE);
}
