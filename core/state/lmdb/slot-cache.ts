/**
 * The LMDB backend's write-behind cache: one slot per cached key, holding that key's value of
 * every state table, in parallel arrays (a slab) rather than one object per entry, so a cached
 * key costs one Map entry and a few array cells, and its size is known.
 *
 *   groups[gi]: Map stored key → slot          (one Map per key group of the subtask's range)
 *   slot s:  keys[s]  group[s]  ref[s]  pins[s]  gen[s]  size[s]
 *            values[t][s]  valueSize[t][s]  dirty[t][s]     (per state table t)
 *
 * values[t][s] === undefined: table t of that key was not read yet; ABSENT: LMDB holds nothing.
 * pins[s]: tables of s changed since the last write-back captured them. gen[s]: the write-back
 * that last captured s; s may leave the cache only once that write-back is committed (before
 * that, a miss would read the older value from LMDB).
 *
 * The budget is in bytes: every slot is charged SLOT_BYTES plus TABLE_SLOT_BYTES per table
 * (measured, see test/state/lmdb-cache.test.ts) plus what its values take (valueBytes).
 * Eviction is CLOCK (second chance, an approximation of least-recently-used): the hand sweeps
 * the slots, clears the reference bit of a recently used one and evicts the first clean,
 * committed one whose bit is clear, one at a time, never half the cache at once.
 */

/** A key LMDB does not hold (cached, so a second read of it does not go there again). */
export const ABSENT = Symbol('absent');

/**
 * Heap bytes per cached key beyond its values: its Map entry (V8's ordered hash table: key,
 * value, chain and half a bucket, at the table's average fill) and its cells in the slot arrays.
 * Measured on Node 20/22 x64 with test/state/lmdb-cache.test.ts ("holds its budget").
 */
export const SLOT_BYTES = 64;
/** Heap bytes per cached key and state table: its value cell (8), size (4) and dirty flag (1), rounded. */
export const TABLE_SLOT_BYTES = 16;
/**
 * Heap bytes per byte of msgpack for object values (arrays, objects, map state): a JS object
 * graph is several times the size of its msgpack encoding (pointers, headers, hidden classes).
 */
export const OBJECT_BYTES_PER_ENCODED_BYTE = 4;
/** Heap bytes of a new object value whose encoding was not seen yet (charged until it is). */
const UNSEEN_OBJECT_BYTES = 128;
/** Slots the CLOCK hand inspects per eviction before giving up (everything dirty: write back first). */
const MAX_SWEEP = 4096;

/**
 * Heap bytes of a primitive value as V8 holds it in an array cell (beyond the cell itself); objects:
 * `encodedBytes` (their msgpack length, when known) scaled, else an estimate until they are encoded.
 */
export function valueBytes(v: unknown, encodedBytes = -1): number {
  switch (typeof v) {
    case 'number':
      // A small integer is stored in the cell (Smi); anything else is a 16-byte HeapNumber.
      return (v | 0) === v && v <= 0x3fffffff && v >= -0x40000000 ? 0 : 16;
    case 'string':
      return 16 + ((v.length + 7) & ~7);
    case 'bigint':
      return 16 + 8 * Math.ceil(v.toString(16).length / 16);
    case 'object':
      if (v === null) return 0;
      return encodedBytes >= 0 ? 32 + encodedBytes * OBJECT_BYTES_PER_ENCODED_BYTE : UNSEEN_OBJECT_BYTES;
    default:
      return 0;
  }
}

export class SlotCache {
  /** groups[gi]: stored key → slot. */
  readonly groups: Map<unknown, number>[] = [];
  keys: unknown[] = [];
  group = new Uint16Array(0);
  /** CLOCK reference bit: set on every access, cleared by the passing hand. */
  ref = new Uint8Array(0);
  pins = new Uint8Array(0);
  gen = new Uint32Array(0);
  size = new Uint32Array(0);
  readonly values: unknown[][] = [];
  readonly dirty: Uint8Array[] = [];
  /** valueSize[t][s]: bytes charged for values[t][s]. */
  readonly valueSize: Uint32Array[] = [];
  /** dirtyList[t][gi]: slots whose table t turned dirty since the last capture. */
  readonly dirtyList: (number[] | undefined)[][] = [];
  /** Bytes charged now, and the most ever charged (tests and metrics). */
  bytes = 0;
  peakBytes = 0;
  /** Bytes of slots with a table not yet captured by a write-back. */
  dirtyBytes = 0;
  /** The newest write-back known committed: slots captured by it or earlier may be evicted. */
  private committedGen = 0;
  /**
   * The last sweep found nothing to evict: sweeping again before a write-back commits would find
   * nothing either (and cost MAX_SWEEP steps per record).
   */
  private stuck = false;
  evictions = 0;
  private capacity = 0;
  /** Slots in use are [0, top) minus the free list. */
  private top = 0;
  private readonly free: number[] = [];
  private hand = 0;

  constructor(
    private readonly groupCount: number,
    readonly budget: number,
  ) {
    for (let g = 0; g < groupCount; g++) this.groups.push(new Map());
  }

  get tableCount(): number {
    return this.values.length;
  }

  /** Slots in use. */
  get count(): number {
    return this.top - this.free.length;
  }

  addTable(): void {
    this.values.push(new Array(this.capacity).fill(undefined));
    this.dirty.push(new Uint8Array(this.capacity));
    this.valueSize.push(new Uint32Array(this.capacity));
    this.dirtyList.push(new Array(this.groupCount).fill(undefined));
    // Every cached key now has a cell more.
    this.charge(this.count * TABLE_SLOT_BYTES);
  }

  private slotBytes(): number {
    return SLOT_BYTES + TABLE_SLOT_BYTES * this.values.length;
  }

  /** Adds `n` bytes to what the cache holds (negative: releases them). */
  charge(n: number): void {
    this.bytes += n;
    if (this.bytes > this.peakBytes) this.peakBytes = this.bytes;
  }

  /** The slot of `stored` in group `gi`, or -1. */
  find(gi: number, stored: unknown): number {
    const s = this.groups[gi].get(stored);
    return s === undefined ? -1 : s;
  }

  /** A new slot for `stored` in group `gi`, nothing loaded (the caller evicted first if it wanted room). */
  insert(gi: number, stored: unknown): number {
    let s = this.free.pop();
    if (s === undefined) {
      if (this.top === this.capacity) this.grow();
      s = this.top++;
    }
    this.keys[s] = stored;
    this.group[s] = gi;
    this.ref[s] = 1;
    this.pins[s] = 0;
    this.gen[s] = 0;
    const bytes = this.slotBytes();
    this.size[s] = bytes;
    this.charge(bytes);
    this.groups[gi].set(stored, s);
    return s;
  }

  private grow(): void {
    const cap = Math.max(1024, this.capacity * 2);
    const widen = <A extends Uint8Array | Uint16Array | Uint32Array>(a: A, make: (n: number) => A): A => {
      const b = make(cap);
      b.set(a);
      return b;
    };
    this.group = widen(this.group, (n) => new Uint16Array(n));
    this.ref = widen(this.ref, (n) => new Uint8Array(n));
    this.pins = widen(this.pins, (n) => new Uint8Array(n));
    this.gen = widen(this.gen, (n) => new Uint32Array(n));
    this.size = widen(this.size, (n) => new Uint32Array(n));
    for (let t = 0; t < this.values.length; t++) {
      this.dirty[t] = widen(this.dirty[t], (n) => new Uint8Array(n));
      this.valueSize[t] = widen(this.valueSize[t], (n) => new Uint32Array(n));
      for (let i = this.capacity; i < cap; i++) this.values[t].push(undefined);
    }
    this.keys.length = cap;
    this.capacity = cap;
  }

  /**
   * Sets table t of slot s to `v` and charges its size: `encodedBytes` is its msgpack length
   * when known (read from LMDB, or just encoded for a write-back). An object replacing an
   * object keeps the last measured size until its next encoding measures it again.
   */
  setValue(t: number, s: number, v: unknown, encodedBytes = -1): void {
    const sizes = this.valueSize[t];
    const old = sizes[s];
    const now = encodedBytes < 0 && typeof v === 'object' && v !== null && old > 0 ? old : valueBytes(v, encodedBytes);
    this.values[t][s] = v;
    if (now !== old) {
      sizes[s] = now;
      this.resize(s, now - old);
    }
  }

  private resize(s: number, delta: number): void {
    if (delta === 0) return;
    this.size[s] += delta;
    this.charge(delta);
    if (this.pins[s] > 0) this.dirtyBytes += delta;
  }

  /** Marks table t of slot s changed since the last capture. */
  markDirty(t: number, s: number): void {
    const d = this.dirty[t];
    if (d[s] === 1) return;
    d[s] = 1;
    if (this.pins[s]++ === 0) this.dirtyBytes += this.size[s];
    (this.dirtyList[t][this.group[s]] ??= []).push(s);
  }

  /** Write-back `gen` committed: what it captured may leave the cache. */
  committed(gen: number): void {
    this.committedGen = gen;
    this.stuck = false;
  }

  /** Table t of slot s was captured by write-back `gen` (its value bytes are what will be written). */
  captured(t: number, s: number, gen: number): void {
    this.dirty[t][s] = 0;
    this.gen[s] = gen;
    if (--this.pins[s] === 0) this.dirtyBytes -= this.size[s];
  }

  /**
   * Evicts clean, committed slots by CLOCK until the cache is within its budget less `room`;
   * never `keep` (the record loop's current key). False when it could not: too much of the
   * cache waits for a write-back.
   */
  evict(room: number, keep: number): boolean {
    if (this.stuck) return false;
    let swept = 0;
    while (this.bytes + room > this.budget) {
      if (this.count === 0) return true;
      if (swept++ >= MAX_SWEEP) {
        this.stuck = true;
        return false;
      }
      const s = this.hand;
      this.hand = s + 1 >= this.top ? 0 : s + 1;
      if (this.keys[s] === undefined || s === keep) continue;
      if (this.ref[s] === 1) {
        this.ref[s] = 0;
        continue;
      }
      if (this.pins[s] > 0 || this.gen[s] > this.committedGen) continue;
      this.drop(s);
      this.evictions++;
    }
    return true;
  }

  private drop(s: number): void {
    this.groups[this.group[s]].delete(this.keys[s]);
    this.keys[s] = undefined;
    for (let t = 0; t < this.values.length; t++) {
      this.values[t][s] = undefined;
      this.valueSize[t][s] = 0;
    }
    this.bytes -= this.size[s];
    this.size[s] = 0;
    this.free.push(s);
  }

  /** Forgets everything (after a restore wrote LMDB directly). */
  clear(): void {
    for (const m of this.groups) m.clear();
    for (let s = 0; s < this.top; s++) this.keys[s] = undefined;
    for (let t = 0; t < this.values.length; t++) {
      this.values[t].fill(undefined);
      this.dirty[t].fill(0);
      this.valueSize[t].fill(0);
      this.dirtyList[t].fill(undefined);
    }
    this.pins.fill(0);
    this.gen.fill(0);
    this.size.fill(0);
    this.free.length = 0;
    this.top = 0;
    this.hand = 0;
    this.bytes = 0;
    this.dirtyBytes = 0;
    this.stuck = false;
  }
}
