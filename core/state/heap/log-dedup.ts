/**
 * The last write per (table, group, key) of a heap write log (write-log.ts), grouped by key
 * group. The writes are first scattered by group into contiguous typed arrays (one sequential
 * pass), then each group is deduplicated in place with a small open-addressing table that stays
 * in cache. One hash table over the whole log did the same with a cache miss per write (about
 * 210 ms of the packer thread per 1.6M writes at 2M keys); a Map per group and table before it
 * also boxed every number.
 *
 * Keys compare as a Map compares them (SameValueZero: 0 and -0 are one key, kept as 0; NaN is
 * one key). Within a group the survivors keep the order of their first write.
 */
import type { LogChunk } from './write-log.js';

const bits = new Float64Array(1);
const words = new Int32Array(bits.buffer);

/** A hash of (table, key) for open addressing; keys are compared as a Map compares them (0 and -0 alike). */
export function hashOf(table: number, key: number): number {
  let h = Math.imul(table + 1, 0x9e3779b1);
  if (key === 0 || key !== key) return (h ^ (key === 0 ? 0 : 1)) >>> 0;
  bits[0] = key;
  h = Math.imul(h ^ words[0], 0x85ebca6b);
  h = Math.imul(h ^ words[1], 0xc2b2ae35);
  return (h ^ (h >>> 15)) >>> 0;
}

export class DedupedLog {
  /** Per group index g: its last writes are at [groupStart[g], groupEnd[g]) of the arrays below. */
  private readonly groupStart: Int32Array;
  private readonly groupEnd: Int32Array;
  readonly tables: Uint8Array;
  readonly keys: Float64Array;
  readonly values: Float64Array;
  readonly groupCount: number;

  constructor(chunks: readonly LogChunk[]) {
    let writes = 0;
    let maxGroup = -1;
    for (const c of chunks) {
      writes += c.length;
      for (let i = 0; i < c.length; i++) if (c.groups[i] > maxGroup) maxGroup = c.groups[i];
    }
    const groupCount = (this.groupCount = maxGroup + 1);
    // Counting sort by group, in log order within a group (so later writes come later).
    const start = new Int32Array(groupCount + 1);
    for (const c of chunks) for (let i = 0; i < c.length; i++) start[c.groups[i] + 1]++;
    for (let g = 0; g < groupCount; g++) start[g + 1] += start[g];
    const fill = start.slice(0, groupCount);
    const tables = (this.tables = new Uint8Array(writes));
    const keys = (this.keys = new Float64Array(writes));
    const values = (this.values = new Float64Array(writes));
    for (const c of chunks) {
      for (let i = 0; i < c.length; i++) {
        const at = fill[c.groups[i]]++;
        tables[at] = c.tables[i];
        keys[at] = c.keys[i] + 0; // -0 + 0 is 0
        values[at] = c.values[i];
      }
    }
    this.groupStart = start.subarray(0, groupCount);
    this.groupEnd = new Int32Array(groupCount);
    let largest = 0;
    for (let g = 0; g < groupCount; g++) largest = Math.max(largest, start[g + 1] - start[g]);
    let cap = 16;
    while (cap < largest * 2) cap *= 2;
    const slots = new Int32Array(cap);
    for (let g = 0; g < groupCount; g++) this.groupEnd[g] = dedupGroup(tables, keys, values, start[g], start[g + 1], slots);
  }

  /** Calls `f(table, key, value)` for the last write of every key of group `g`. */
  forEach(g: number, f: (table: number, key: number, value: number) => void): void {
    if (g >= this.groupCount) return;
    for (let n = this.groupStart[g]; n < this.groupEnd[g]; n++) f(this.tables[n], this.keys[n], this.values[n]);
  }

  /** Whether group `g` has logged writes. */
  has(g: number): boolean {
    return g < this.groupCount && this.groupEnd[g] > this.groupStart[g];
  }

  /** Group `g`'s last writes are at [start(g), end(g)) of tables / keys / values. */
  start(g: number): number {
    return this.groupStart[g];
  }

  end(g: number): number {
    return this.groupEnd[g];
  }
}

/**
 * Deduplicates [from, to) in place: each (table, key) once, at its first write's position
 * (compacted to the front), with its last write's value. Returns the end of the survivors.
 */
function dedupGroup(tables: Uint8Array, keys: Float64Array, values: Float64Array, from: number, to: number, slots: Int32Array): number {
  let cap = 16;
  while (cap < (to - from) * 2) cap *= 2;
  const mask = cap - 1;
  slots.fill(-1, 0, cap);
  let w = from;
  for (let i = from; i < to; i++) {
    const t = tables[i];
    const k = keys[i];
    let s = hashOf(t, k) & mask;
    for (;;) {
      const at = slots[s];
      if (at === -1) {
        slots[s] = w;
        tables[w] = t;
        keys[w] = k;
        values[w++] = values[i];
        break;
      }
      const ok = keys[at];
      if (tables[at] === t && (ok === k || (ok !== ok && k !== k))) {
        values[at] = values[i];
        break;
      }
      s = (s + 1) & mask;
    }
  }
  return w;
}
