/**
 * A numeric state table of one key group in shared memory: an open-addressing hash table of
 * Float64 keys and values with an Int32 stamp per slot (the version of its last write, and
 * whether it is a tombstone), over one SharedArrayBuffer. The record loop is its only writer;
 * the snapshot packer thread reads it while the loop goes on writing (numeric-scan.ts).
 *
 * Why shared memory: per-entry copy-on-write (Flink's CopyOnWriteStateMap) lets a snapshot
 * be taken in O(1) at the barrier and read later while writes continue. A JS Map can only be
 * read on the thread that owns it, so with Maps every entry is read on the loop anyway and
 * per-entry copying only adds work. Here the packer thread reads the slots itself; the loop
 * pays one stamp compare per write, and a pre-image (pre-image-log.ts) for the first write to
 * an entry the running snapshot may not have read yet.
 *
 * The reader copies the stamps, then reads keys and values, then the pre-image log: the loop
 * appends a pre-image of an entry stamped before the snapshot (and publishes it) before it
 * stores the new stamp and value, so whatever the reader saw of a changed slot is overridden
 * by the pre-image. Growth rehashes into a new buffer and leaves the old one as it was, so a snapshot
 * still reading the old one reads a table nobody writes.
 */
import { hashOf } from './log-dedup.js';
import type { VersionClock } from './version-clock.js';

/** Int32 index in the header: the slot count (a power of two). */
export const H_CAPACITY = 0;
/** Header bytes before the keys (16 keeps the Float64 arrays aligned). */
export const HEADER_BYTES = 16;
/** Bytes per slot: key and value (8 B each) and stamp (4 B). */
export const SLOT_BYTES = 20;
/** Stamp of a slot never written. Otherwise stamp = version * 2 + (1 for a tombstone). */
export const STAMP_EMPTY = 0;
const MIN_CAPACITY = 16;

export const stampVersion = (stamp: number): number => stamp >>> 1;
export const isTombstone = (stamp: number): boolean => (stamp & 1) === 1;

/** Typed views over a table buffer, for the loop and the packer alike. */
export interface SlotViews {
  capacity: number;
  keys: Float64Array;
  values: Float64Array;
  stamps: Int32Array;
}

export function slotViews(buffer: SharedArrayBuffer): SlotViews {
  const capacity = new Int32Array(buffer, 0, 1)[H_CAPACITY];
  return {
    capacity,
    keys: new Float64Array(buffer, HEADER_BYTES, capacity),
    values: new Float64Array(buffer, HEADER_BYTES + 8 * capacity, capacity),
    stamps: new Int32Array(buffer, HEADER_BYTES + 16 * capacity, capacity),
  };
}

function tableBuffer(capacity: number): SharedArrayBuffer {
  const buffer = new SharedArrayBuffer(HEADER_BYTES + SLOT_BYTES * capacity);
  new Int32Array(buffer, 0, 1)[H_CAPACITY] = capacity;
  return buffer;
}

/** Whether a stored key can live in a numeric table (NaN is one key to a Map, never equal to itself here). */
export function isNumericKey(key: unknown): key is number {
  return typeof key === 'number' && key === key;
}

export class NumericSlots {
  buffer: SharedArrayBuffer;
  private keys: Float64Array;
  private values: Float64Array;
  private stamps: Int32Array;
  private mask: number;
  /** Live entries, and slots in use (live and tombstones). */
  live = 0;
  /** The version of the last write (a delta whose base is above it has nothing here to read). */
  written = 0;
  private used = 0;

  constructor(
    /** This table-and-group's id in pre-images (numeric-scan.ts decodes it). */
    readonly id: number,
    private readonly clock: VersionClock,
  ) {
    this.buffer = tableBuffer(MIN_CAPACITY);
    const v = slotViews(this.buffer);
    this.keys = v.keys;
    this.values = v.values;
    this.stamps = v.stamps;
    this.mask = MIN_CAPACITY - 1;
  }

  /** The slot holding `key` (live or tombstone), or ~(the empty slot where it would go). */
  private slotOf(key: number): number {
    const keys = this.keys;
    const stamps = this.stamps;
    const mask = this.mask;
    let s = hashOf(0, key) & mask;
    for (;;) {
      if (stamps[s] === STAMP_EMPTY) return ~s;
      if (keys[s] === key) return s;
      s = (s + 1) & mask;
    }
  }

  /** `key` must be numeric (isNumericKey) and not -0 (the store adds 0). */
  get(key: number): number | undefined {
    const s = this.slotOf(key);
    return s < 0 || isTombstone(this.stamps[s]) ? undefined : this.values[s];
  }

  put(key: number, value: number): void {
    let s = this.slotOf(key);
    const stamp = this.clock.version * 2;
    if (s < 0) {
      // A new key: nothing for a running snapshot to keep (it was absent at the barrier).
      if ((this.used + 1) * 4 > this.mask * 3) {
        this.rehash();
        s = this.slotOf(key);
      }
      s = ~s;
      this.keys[s] = key;
      this.values[s] = value;
      Atomics.store(this.stamps, s, stamp);
      this.written = this.clock.version;
      this.used++;
      this.live++;
      return;
    }
    const old = this.stamps[s];
    if (old !== stamp) {
      if (stampVersion(old) < this.clock.active) this.clock.preImage(this.id, key, this.values[s], old);
      Atomics.store(this.stamps, s, stamp);
      this.written = this.clock.version;
      if (isTombstone(old)) this.live++;
    }
    this.values[s] = value;
  }

  remove(key: number): void {
    const s = this.slotOf(key);
    if (s < 0) return;
    const old = this.stamps[s];
    if (isTombstone(old)) return;
    if (stampVersion(old) < this.clock.active) this.clock.preImage(this.id, key, this.values[s], old);
    // The tombstone keeps the deletion for deltas until a confirmed checkpoint has it (rehash).
    Atomics.store(this.stamps, s, this.clock.version * 2 + 1);
    this.written = this.clock.version;
    this.live--;
  }

  /**
   * Into a new buffer, twice the live entries' room or more: live entries and the tombstones
   * a later delta still needs (version ≥ clock.keepTombstonesFrom). The old buffer is left as
   * it is for a snapshot that may still read it.
   */
  private rehash(): void {
    const { keys, values, stamps } = this;
    const keepFrom = this.clock.keepTombstonesFrom;
    let kept = 0;
    for (let s = 0; s <= this.mask; s++) {
      const st = stamps[s];
      if (st !== STAMP_EMPTY && (!isTombstone(st) || stampVersion(st) >= keepFrom)) kept++;
    }
    let capacity = MIN_CAPACITY;
    while (capacity < kept * 2 + 2) capacity *= 2;
    const buffer = tableBuffer(capacity);
    const v = slotViews(buffer);
    const mask = capacity - 1;
    for (let s = 0; s <= this.mask; s++) {
      const st = stamps[s];
      if (st === STAMP_EMPTY || (isTombstone(st) && stampVersion(st) < keepFrom)) continue;
      let to = hashOf(0, keys[s]) & mask;
      while (v.stamps[to] !== STAMP_EMPTY) to = (to + 1) & mask;
      v.keys[to] = keys[s];
      v.values[to] = values[s];
      v.stamps[to] = st;
    }
    this.buffer = buffer;
    this.keys = v.keys;
    this.values = v.values;
    this.stamps = v.stamps;
    this.mask = mask;
    this.used = kept;
  }

  /** Calls `f(value, key)` for every live entry (Map.forEach's order of arguments). */
  forEachLive(f: (value: number, key: number) => void): void {
    for (let s = 0; s <= this.mask; s++) {
      const st = this.stamps[s];
      if (st !== STAMP_EMPTY && !isTombstone(st)) f(this.values[s], this.keys[s]);
    }
  }

  /** Every key held, tombstones too (a table leaving for Maps marks them all changed). */
  forEachKey(f: (key: number) => void): void {
    for (let s = 0; s <= this.mask; s++) if (this.stamps[s] !== STAMP_EMPTY) f(this.keys[s]);
  }
}
