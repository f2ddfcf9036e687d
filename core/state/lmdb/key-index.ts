/**
 * The LMDB cache's lookup of one key group: stored key → slot (slot-cache.ts). Number keys,
 * the keys jobs use most, live in an open-addressing table of (key, slot) pairs in one
 * Float64Array, so a lookup is a hash and, mostly, one cache line; any other key (and NaN,
 * which equals nothing in a Float64 compare) goes to a Map. With millions of keys spread over
 * the key groups, a Map lookup took two or three cache misses and was a quarter of the record
 * loop's time in the state-scale benchmark.
 *
 *   cells: [key 0, slot 0 + 1, key 1, slot 1 + 1, ...]     slot + 1 === 0: an empty cell
 *
 * Linear probing; a removal shifts the rest of its run back (no tombstones to clean up).
 */

/** Cells of a new table (a power of two). */
const MIN_CELLS = 16;
/** Grow once this share of the cells is used (linear probing over 16-byte pairs stays short). */
const MAX_LOAD = 0.75;
/** Bytes per cell: the key and the slot, two float64s. */
export const CELL_BYTES = 16;

const bits = new Float64Array(1);
const words = new Int32Array(bits.buffer);

/** A hash of a number key; 0 and -0 alike (they are one key, as in a Map). */
function hashOf(key: number): number {
  let h: number;
  if ((key | 0) === key) h = Math.imul(key | 0, 0x9e3779b1);
  else {
    bits[0] = key;
    h = Math.imul(words[0] ^ Math.imul(words[1], 0x85ebca6b), 0x9e3779b1);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  return h ^ (h >>> 13);
}

const isIndexed = (key: unknown): key is number => typeof key === 'number' && key === key;

export class KeyIndex {
  /** Whether `key` goes to the number table (else to the Map). */
  static holdsAsNumber(key: unknown): boolean {
    return isIndexed(key);
  }

  private cells = new Float64Array(2 * MIN_CELLS);
  private mask = MIN_CELLS - 1;
  /** Number keys held. */
  private numbers = 0;
  private others: Map<unknown, number> | undefined;

  /** Keys held. */
  get size(): number {
    return this.numbers + (this.others?.size ?? 0);
  }

  /** The slot of `key`, or -1. */
  get(key: unknown): number {
    if (typeof key !== 'number' || key !== key) return this.others?.get(key) ?? -1;
    const cells = this.cells;
    const mask = this.mask;
    for (let i = hashOf(key) & mask; ; i = (i + 1) & mask) {
      const slot = cells[2 * i + 1];
      if (slot === 0) return -1;
      if (cells[2 * i] === key) return slot - 1;
    }
  }

  /** Adds `key` (not held) at `slot`. */
  add(key: unknown, slot: number): void {
    if (!isIndexed(key)) {
      (this.others ??= new Map()).set(key, slot);
      return;
    }
    if (this.numbers + 1 > (this.mask + 1) * MAX_LOAD) this.rehash(2 * (this.mask + 1));
    // -0 is held as 0, as a Map holds it.
    this.place(key === 0 ? 0 : key, slot);
    this.numbers++;
  }

  private place(key: number, slot: number): void {
    const cells = this.cells;
    const mask = this.mask;
    let i = hashOf(key) & mask;
    while (cells[2 * i + 1] !== 0) i = (i + 1) & mask;
    cells[2 * i] = key;
    cells[2 * i + 1] = slot + 1;
  }

  /** Points a held key at another slot (the cache compacted its slots). */
  move(key: unknown, slot: number): void {
    if (!isIndexed(key)) {
      this.others!.set(key, slot);
      return;
    }
    const i = this.cellOf(key);
    if (i >= 0) this.cells[2 * i + 1] = slot + 1;
  }

  private cellOf(key: number): number {
    const cells = this.cells;
    const mask = this.mask;
    for (let i = hashOf(key) & mask; ; i = (i + 1) & mask) {
      if (cells[2 * i + 1] === 0) return -1;
      if (cells[2 * i] === key) return i;
    }
  }

  delete(key: unknown): void {
    if (!isIndexed(key)) {
      this.others?.delete(key);
      return;
    }
    let i = this.cellOf(key);
    if (i < 0) return;
    this.numbers--;
    // Backward shift: move each later cell of the run into the hole if its home allows it.
    const cells = this.cells;
    const mask = this.mask;
    for (let j = (i + 1) & mask; cells[2 * j + 1] !== 0; j = (j + 1) & mask) {
      const home = hashOf(cells[2 * j]) & mask;
      // The cell at j may move to i when i lies on its probe path: home ≤ i < j, cyclically.
      if (((j - home) & mask) >= ((j - i) & mask)) {
        cells[2 * i] = cells[2 * j];
        cells[2 * i + 1] = cells[2 * j + 1];
        i = j;
      }
    }
    cells[2 * i] = 0;
    cells[2 * i + 1] = 0;
  }

  private rehash(cellCount: number): void {
    const old = this.cells;
    this.cells = new Float64Array(2 * cellCount);
    this.mask = cellCount - 1;
    for (let i = 0; i < old.length; i += 2) if (old[i + 1] !== 0) this.place(old[i], old[i + 1] - 1);
  }

  /** Forgets every key; the number table goes back to its first size. */
  clear(): void {
    if (this.mask + 1 === MIN_CELLS) this.cells.fill(0);
    else {
      this.cells = new Float64Array(2 * MIN_CELLS);
      this.mask = MIN_CELLS - 1;
    }
    this.numbers = 0;
    this.others = undefined;
  }

  /** Calls `f(key, slot)` for every key held. */
  forEach(f: (key: unknown, slot: number) => void): void {
    const cells = this.cells;
    for (let i = 0; i < cells.length; i += 2) if (cells[i + 1] !== 0) f(cells[i], cells[i + 1] - 1);
    this.others?.forEach((slot, key) => f(key, slot));
  }

  /**
   * Writes every key and its slot into `keys` and `slots` (at least `size` long) and returns
   * how many; -1 (and nothing useful written) when a key is not a number.
   */
  numbersInto(keys: Float64Array, slots: Int32Array): number {
    if (this.others !== undefined && this.others.size > 0) return -1;
    const cells = this.cells;
    let n = 0;
    for (let i = 0; i < cells.length; i += 2) {
      if (cells[i + 1] === 0) continue;
      keys[n] = cells[i];
      slots[n++] = cells[i + 1] - 1;
    }
    return n;
  }
}
