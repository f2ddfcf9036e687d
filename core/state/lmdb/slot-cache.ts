/**
 * The LMDB backend's write-behind cache: one slot per cached key, holding that key's value of
 * every state table, in parallel arrays (a slab) rather than one object per entry, so a cached
 * key costs one key index entry and a few array cells, and its size is known.
 *
 *   groups[gi]: stored key → slot              (one KeyIndex per key group of the subtask's range)
 *   slot s:  keys[s]  group[s]  ref[s]  pins[s]  gen[s]  size[s]
 *            values[t][s]  valueSize[t][s]  dirty[t][s]     (per state table t)
 *
 * values[t][s] === undefined: table t of that key was not read yet; ABSENT: LMDB holds nothing.
 * dirty[t][s]: CLEAN (LMDB holds the value, or a write-back captured it), DIRTY (changed since
 * the last capture), HELD (a barrier put it in a delta snapshot but not in LMDB: incremental
 * checkpoints write back only under cache pressure, see lmdb-keyed-store.ts) or HELD_DIRTY
 * (held, then changed again: on both lists below, so it is listed as held only once however
 * many barriers hold it before a write-back). UNLOGGED marks a changed one whose value the next
 * barrier must read (the number log has not got it).
 * pins[s]: tables of s not CLEAN. gen[s]: the write-back that last captured s; s may leave the
 * cache only once that write-back is committed (before that, a miss would read the older value
 * from LMDB).
 *
 * The budget is in bytes, charged from what things take (cache-charges.ts; an object value
 * from its msgpack length, and until first encoded at the table's average). Eviction is CLOCK (second chance, an approximation of least
 * recently used): the hand sweeps the slots, clears the reference bit of a recently used one
 * and evicts the first clean, committed one whose bit is clear, one at a time, never half the
 * cache at once.
 */
import {
  FIRST_OBJECT_BYTES,
  MAP_ENTRY_BYTES,
  NUMBER_KEY_BYTES,
  numberBytes,
  SLAB_BYTES,
  TABLE_SLAB_BYTES,
  valueBytes,
} from './cache-charges.js';
import { KeyIndex } from './key-index.js';

/** A key LMDB does not hold (cached, so a second read of it does not go there again). */
export const ABSENT = Symbol('absent');

/** States of dirty[t][s] (see the module comment): a bit for "changed", one for "on the held list". */
export const CLEAN = 0;
export const DIRTY = 1;
export const HELD = 2;
export const HELD_DIRTY = HELD | DIRTY;
/** With DIRTY: a change since the last barrier that the number log did not record (lmdb/number-log.ts). */
export const UNLOGGED = 4;

/**
 * Slots waiting for a write-back the CLOCK hand passes per eviction before giving up (write
 * back first), when changed slots are most of the cache. Otherwise the waiting ones are a run
 * of keys changed since the hand last came by (new keys take the slots it just freed), and
 * the hand goes on past them: giving up there wrote the whole cache back synchronously while
 * nine tenths of it could have been evicted.
 */
const MAX_SWEEP = 4096;

export class SlotCache {
  /** groups[gi]: stored key → slot. */
  readonly groups: KeyIndex[] = [];
  keys: unknown[] = [];
  group = new Uint16Array(0);
  /** CLOCK reference bit: set on every access, cleared by the passing hand. */
  ref = new Uint8Array(0);
  pins = new Uint8Array(0);
  gen = new Uint32Array(0);
  size = new Uint32Array(0);
  values: unknown[][] = [];
  readonly dirty: Uint8Array[] = [];
  /** valueSize[t][s]: bytes charged for values[t][s]. */
  readonly valueSize: Uint32Array[] = [];
  /** objectBytes[t]: the running average size of table t's object values as measured. */
  private readonly objectBytes: number[] = [];
  /** dirtyList[t][gi]: slots whose table t turned DIRTY since the last capture. */
  readonly dirtyList: (number[] | undefined)[][] = [];
  /**
   * heldList[t][gi]: slots whose table t turned HELD since the last write-back, each once (one
   * changed again since is HELD_DIRTY: whoever walks the list skips what is not HELD). A list
   * that grew by every barrier's changes held millions of stale slots after a few seconds.
   */
  readonly heldList: (number[] | undefined)[][] = [];
  /** Bytes charged now, and the most ever charged (tests and metrics). */
  bytes = 0;
  peakBytes = 0;
  /** Bytes of slots with a table not yet captured by a write-back. */
  dirtyBytes = 0;
  /** Slots with a table not yet captured by a write-back (pins > 0). */
  dirtySlots = 0;
  /** The newest write-back known committed: slots captured by it or earlier may be evicted. */
  private committedGen = 0;
  /**
   * The last sweep found nothing to evict: sweeping again before a write-back commits would find
   * nothing either (and cost MAX_SWEEP steps per record).
   */
  private stuck = false;
  evictions = 0;
  /**
   * leftFrom[gi]: 1 once a key of group gi left the cache (evicted or cleared). Until then every
   * key of the group that was ever used is cached, so a miss there is a key never used.
   */
  readonly leftFrom: Uint8Array;
  private capacity = 0;
  /** Slots in use are [0, top) minus the free list. */
  private top = 0;
  private readonly free: number[] = [];
  private hand = 0;
  /** Slots whose reference bit the current sweep cleared. */
  private readonly cleared: number[] = [];

  constructor(
    private readonly groupCount: number,
    readonly budget: number,
  ) {
    for (let g = 0; g < groupCount; g++) this.groups.push(new KeyIndex());
    this.leftFrom = new Uint8Array(groupCount);
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
    this.heldList.push(new Array(this.groupCount).fill(undefined));
    this.objectBytes.push(FIRST_OBJECT_BYTES);
    // Every slot of capacity now has cells more.
    this.charge(this.capacity * TABLE_SLAB_BYTES);
  }

  /** Adds `n` bytes to what the cache holds (negative: releases them). */
  charge(n: number): void {
    this.bytes += n;
    if (this.bytes > this.peakBytes) this.peakBytes = this.bytes;
  }

  /** The slot of `stored` in group `gi`, or -1. */
  find(gi: number, stored: unknown): number {
    return this.groups[gi].get(stored);
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
    this.groups[gi].add(stored, s);
    const entry = KeyIndex.holdsAsNumber(stored) ? NUMBER_KEY_BYTES : MAP_ENTRY_BYTES;
    this.size[s] = entry;
    this.charge(entry);
    return s;
  }

  /**
   * More capacity, slot numbers unchanged: every slot below `top` is in use here (insert takes
   * a free one first), so the arrays are only extended, not compacted as relayout does.
   */
  private grow(): void {
    const cap = Math.max(64, Math.floor(this.capacity * 1.25));
    this.reshape(
      cap,
      (a, b) => {
        b.set(a);
        return b;
      },
      (values) => {
        // In place: V8 grows a packed array's backing store without a copy made here.
        while (values.length < cap) values.push(undefined);
        return values;
      },
    );
  }

  private slabBytes(capacity: number): number {
    return capacity * (SLAB_BYTES + TABLE_SLAB_BYTES * this.values.length);
  }

  /** The slot arrays at capacity `cap`: `move` makes each typed array's new form, `moveValues` each of the JS arrays'. */
  private reshape(
    cap: number,
    move: <A extends Uint8Array | Uint16Array | Uint32Array>(a: A, b: A) => A,
    moveValues: (a: unknown[]) => unknown[],
  ): void {
    this.charge(this.slabBytes(cap) - this.slabBytes(this.capacity));
    this.group = move(this.group, new Uint16Array(cap));
    this.ref = move(this.ref, new Uint8Array(cap));
    this.pins = move(this.pins, new Uint8Array(cap));
    this.gen = move(this.gen, new Uint32Array(cap));
    this.size = move(this.size, new Uint32Array(cap));
    for (let t = 0; t < this.values.length; t++) {
      this.dirty[t] = move(this.dirty[t], new Uint8Array(cap));
      this.valueSize[t] = move(this.valueSize[t], new Uint32Array(cap));
      this.values[t] = moveValues(this.values[t]);
    }
    this.keys = moveValues(this.keys);
    this.capacity = cap;
  }

  /**
   * Rebuilds the slot arrays at capacity `cap` (at least the slots in use), live slots first:
   * slot numbers change, so no caller may hold one across this.
   */
  private relayout(cap: number): void {
    const remap = new Int32Array(this.top);
    let n = 0;
    for (let s = 0; s < this.top; s++) remap[s] = this.keys[s] === undefined ? -1 : n++;
    const top = this.top;
    const move = <A extends Uint8Array | Uint16Array | Uint32Array | unknown[]>(a: A, b: A): A => {
      for (let s = 0; s < top; s++) if (remap[s] >= 0) b[remap[s]] = a[s];
      return b;
    };
    this.reshape(cap, move, (a) => move(a, new Array<unknown>(cap).fill(undefined)));
    for (let t = 0; t < this.values.length; t++) {
      for (const lists of [this.dirtyList[t], this.heldList[t]]) {
        for (const list of lists) if (list !== undefined) for (let i = 0; i < list.length; i++) list[i] = remap[list[i]];
      }
    }
    if (n !== top) for (let s = 0; s < n; s++) this.groups[this.group[s]].move(this.keys[s], s);
    this.free.length = 0;
    this.top = n;
    this.hand = 0;
  }

  /**
   * Sets table t of slot s to `v` and charges its size: `encodedBytes` is its msgpack length
   * when known (read from LMDB, or just encoded for a write-back). An object replacing an
   * object keeps the last measured size until its next encoding measures it again.
   */
  setValue(t: number, s: number, v: unknown, encodedBytes = -1): void {
    const values = this.values[t];
    if (typeof v === 'number') {
      // A number replacing one of its size (the usual update): nothing to charge, and the
      // size array, a cache miss of its own, is not read.
      const prev = values[s];
      if (typeof prev === 'number' && numberBytes(prev) === numberBytes(v)) {
        values[s] = v;
        return;
      }
    }
    const sizes = this.valueSize[t];
    const old = sizes[s];
    const isObject = typeof v === 'object' && v !== null;
    const now = encodedBytes < 0 && isObject && old > 0 ? old : valueBytes(v, encodedBytes, this.objectBytes[t]);
    if (isObject && encodedBytes >= 0) this.objectBytes[t] += Math.round((now - this.objectBytes[t]) / 16);
    values[s] = v;
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

  /** Marks table t of slot s changed since the last capture; `logged`: the number log has the new value. */
  markDirty(t: number, s: number, logged = false): void {
    const d = this.dirty[t];
    const was = d[s];
    const now = was | DIRTY | (logged ? 0 : UNLOGGED);
    if (now === was) return;
    d[s] = now;
    if ((was & DIRTY) !== 0) return;
    if (was === CLEAN && this.pins[s]++ === 0) {
      this.dirtyBytes += this.size[s];
      this.dirtySlots++;
    }
    (this.dirtyList[t][this.group[s]] ??= []).push(s);
  }

  /** Table t of slot s (DIRTY or HELD_DIRTY) went into a delta snapshot and not to LMDB: it stays pinned. */
  held(t: number, s: number): void {
    const d = this.dirty[t];
    if ((d[s] & HELD) === 0) (this.heldList[t][this.group[s]] ??= []).push(s);
    d[s] = HELD;
  }

  /** Write-back `gen` committed: what it captured may leave the cache. */
  committed(gen: number): void {
    this.committedGen = gen;
    this.stuck = false;
  }

  /** Table t of slot s was captured by write-back `gen` (its value bytes are what will be written). */
  captured(t: number, s: number, gen: number): void {
    this.dirty[t][s] = CLEAN;
    this.gen[s] = gen;
    if (--this.pins[s] === 0) {
      this.dirtyBytes -= this.size[s];
      this.dirtySlots--;
    }
  }

  /**
   * Evicts clean, committed slots by CLOCK until the cache is within its budget less `room`,
   * moving the hand at most one turn (a large excess, left by a write-back in flight, goes over
   * the next accesses, so keys used meanwhile get their bit set again before the hand is back);
   * never `keep` (the record loop's current key). False when it is stuck: too much of the
   * cache waits for a write-back (nothing more can go before one commits).
   */
  evict(room: number, keep: number): boolean {
    if (this.stuck) return false;
    let waiting = 0;
    let steps = 0;
    const maxSteps = this.top;
    const cleared = this.cleared;
    cleared.length = 0;
    while (this.bytes + room > this.budget && this.count > 0 && steps++ < maxSteps) {
      const s = this.hand;
      this.hand = s + 1 >= this.top ? 0 : s + 1;
      if (this.keys[s] === undefined || s === keep) continue;
      if (this.pins[s] > 0 || this.gen[s] > this.committedGen) {
        if (++waiting >= MAX_SWEEP && this.dirtySlots * 2 > this.count) {
          this.stuck = true;
          break;
        }
        continue;
      }
      if (this.ref[s] === 1) {
        this.ref[s] = 0;
        cleared.push(s);
        continue;
      }
      this.drop(s);
      this.evictions++;
    }
    if (steps > maxSteps && this.bytes + room > this.budget && waiting > steps / 2) this.stuck = true;
    if (this.stuck) {
      // A sweep that found too little (the rest waits for a write-back) takes back the second
      // chances it used up: otherwise the next sweep, after the commit, would evict by position.
      for (let i = 0; i < cleared.length; i++) this.ref[cleared[i]] = 1;
    }
    // Slot arrays grown while the cache overshot (a write-back in flight) give the room back.
    if (keep < 0 && this.count < this.capacity / 3 && this.slabBytes(this.capacity) > this.budget / 4) {
      this.relayout(Math.max(64, Math.floor(this.count * 1.5)));
    }
    return !this.stuck;
  }

  private drop(s: number): void {
    this.leftFrom[this.group[s]] = 1;
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
    this.groups.forEach((index, gi) => {
      if (index.size > 0) this.leftFrom[gi] = 1;
      index.clear();
    });
    for (let s = 0; s < this.top; s++) this.keys[s] = undefined;
    for (let t = 0; t < this.values.length; t++) {
      this.values[t].fill(undefined);
      this.dirty[t].fill(0);
      this.valueSize[t].fill(0);
      this.dirtyList[t].fill(undefined);
      this.heldList[t].fill(undefined);
    }
    this.pins.fill(0);
    this.gen.fill(0);
    this.size.fill(0);
    this.free.length = 0;
    this.top = 0;
    this.hand = 0;
    this.bytes = this.capacity * (SLAB_BYTES + TABLE_SLAB_BYTES * this.values.length);
    this.dirtyBytes = 0;
    this.dirtySlots = 0;
    this.stuck = false;
  }
}
