/**
 * What an incremental LMDB barrier that holds its changes (lmdb-keyed-store.ts) needs to know
 * of the numbers written since the last barrier, recorded as they are written: each put of a
 * number under a number key appends (table, group, key, value) to write-log chunks
 * (heap/write-log.ts), a few sequential stores. At the barrier the chunks go to the packer,
 * which keeps the last write per key (heap/log-dedup.ts), so the barrier does not read each
 * changed entry's value out of the cache: that read, a cache miss per entry in a slab of
 * millions of slots, was most of the barrier's work.
 *
 * Bound: an interval logs at most max(MIN_CAP, 2 × the cached keys) writes; past that it stops
 * (its chunks go back) and the barrier reads every changed value instead, as without a log.
 */
import { giveChunks, LOG_CHUNK, takeChunk, type LogChunk } from '../heap/write-log.js';

const MIN_CAP = 1 << 20;

/** Appends one write to `chunks`, in a new chunk when the last one is full. */
export function appendNumber(chunks: LogChunk[], table: number, groupIndex: number, key: number, value: number): void {
  let c = chunks[chunks.length - 1];
  if (c === undefined || c.length === LOG_CHUNK) chunks.push((c = takeChunk()));
  const i = c.length++;
  c.tables[i] = table;
  c.groups[i] = groupIndex;
  c.keys[i] = key;
  c.values[i] = value;
}

export class NumberLog {
  private chunks: LogChunk[] = [];
  private count = 0;
  private overflowed = false;

  /** `keys`: the cached keys now, which sets the bound. */
  constructor(private readonly keys: () => number) {}

  add(table: number, groupIndex: number, key: number, value: number): void {
    if (this.overflowed) return;
    // The bound is checked once per chunk.
    if ((this.count & (LOG_CHUNK - 1)) === 0 && this.count >= Math.max(MIN_CAP, 2 * this.keys())) {
      this.overflowed = true;
      this.drop();
      return;
    }
    appendNumber(this.chunks, table, groupIndex, key, value);
    this.count++;
  }

  /**
   * At a barrier: the interval's writes, or undefined when it overflowed (then every changed
   * value must be read). The next interval starts empty; the caller owns the chunks.
   */
  take(): LogChunk[] | undefined {
    const taken = this.overflowed ? undefined : this.chunks;
    this.chunks = [];
    this.count = 0;
    this.overflowed = false;
    return taken;
  }

  /** Forgets the interval's writes (a restore, or a barrier that reads every value anyway). */
  drop(): void {
    giveChunks(this.chunks);
    this.chunks = [];
    this.count = 0;
  }
}
