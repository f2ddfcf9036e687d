/**
 * The last write per (table, group, key) of a heap write log (write-log.ts), grouped by key
 * group: an open-addressing hash table over typed arrays. A Map per group and table did the
 * same with a boxed number and a Map insert per write, and was most of the packer thread's time
 * in incremental checkpoints (2.1 of 3 s at 2M keys).
 *
 * Keys compare as a Map compares them (SameValueZero: 0 and -0 are one key, so is NaN).
 */
import { LOG_CHUNK, type LogChunk } from './write-log.js';

/** A write's position: chunk number << CHUNK_BITS | index in the chunk. */
const CHUNK_BITS = 31 - Math.clz32(LOG_CHUNK);

const bits = new Float64Array(1);
const words = new Int32Array(bits.buffer);

function hashOf(table: number, group: number, key: number): number {
  let h = Math.imul(group * 256 + table, 0x9e3779b1);
  if (key === 0 || key !== key) return (h ^ (key === 0 ? 0 : 1)) >>> 0;
  bits[0] = key;
  h = Math.imul(h ^ words[0], 0x85ebca6b);
  h = Math.imul(h ^ words[1], 0xc2b2ae35);
  return (h ^ (h >>> 15)) >>> 0;
}

export class DedupedLog {
  /** Per group index g: the last writes of group g are order[groupStart[g] .. groupStart[g + 1]). */
  private readonly groupStart: Int32Array;
  /** Log positions (see CHUNK_BITS), grouped by group. */
  private readonly order: Int32Array;
  readonly groupCount: number;

  constructor(private readonly chunks: readonly LogChunk[]) {
    let writes = 0;
    let maxGroup = -1;
    for (const c of chunks) {
      writes += c.length;
      for (let i = 0; i < c.length; i++) if (c.groups[i] > maxGroup) maxGroup = c.groups[i];
    }
    this.groupCount = maxGroup + 1;
    let cap = 16;
    while (cap < writes * 2) cap *= 2;
    const mask = cap - 1;
    const slots = new Int32Array(cap).fill(-1);
    let distinct = 0;
    chunks.forEach((c, ci) => {
      for (let i = 0; i < c.length; i++) {
        const t = c.tables[i];
        const g = c.groups[i];
        const k = c.keys[i];
        let s = hashOf(t, g, k) & mask;
        for (;;) {
          const at = slots[s];
          if (at === -1) {
            distinct++;
            break;
          }
          const o = chunks[at >>> CHUNK_BITS];
          const j = at & ((1 << CHUNK_BITS) - 1);
          const ok = o.keys[j];
          if (o.tables[j] === t && o.groups[j] === g && (ok === k || (ok !== ok && k !== k))) break;
          s = (s + 1) & mask;
        }
        // A later write of the same key takes the slot: the last write wins.
        slots[s] = (ci << CHUNK_BITS) | i;
      }
    });
    // Counting sort of the surviving writes by group.
    const start = new Int32Array(this.groupCount + 1);
    for (let s = 0; s < cap; s++) if (slots[s] !== -1) start[this.groupOf(slots[s]) + 1]++;
    for (let g = 0; g < this.groupCount; g++) start[g + 1] += start[g];
    const fill = start.slice(0, this.groupCount);
    this.order = new Int32Array(distinct);
    for (let s = 0; s < cap; s++) if (slots[s] !== -1) this.order[fill[this.groupOf(slots[s])]++] = slots[s];
    this.groupStart = start;
  }

  private groupOf(at: number): number {
    return this.chunks[at >>> CHUNK_BITS].groups[at & ((1 << CHUNK_BITS) - 1)];
  }

  /** Calls `f(table, key, value)` for the last write of every key of group `g`. */
  forEach(g: number, f: (table: number, key: number, value: number) => void): void {
    if (g >= this.groupCount) return;
    for (let n = this.groupStart[g]; n < this.groupStart[g + 1]; n++) {
      const at = this.order[n];
      const c = this.chunks[at >>> CHUNK_BITS];
      const j = at & ((1 << CHUNK_BITS) - 1);
      f(c.tables[j], c.keys[j], c.values[j]);
    }
  }

  /** Whether group `g` has logged writes. */
  has(g: number): boolean {
    return g < this.groupCount && this.groupStart[g + 1] > this.groupStart[g];
  }
}
