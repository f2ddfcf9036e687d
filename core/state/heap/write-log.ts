/**
 * Change tracking for incremental heap snapshots that costs a write almost nothing: a put of a
 * number under a number key (a count, a sum, an id) appends (table, group, key, value) to a
 * log of typed arrays, where a Set insert per write (../change-log.ts) missed the cache on
 * every record (measured: 18% of the record loop at 500k keys). The log is deduplicated off the
 * loop, by the packer (captured-group.ts mergeLogged), last write winning.
 *
 * Everything else — removes, map state, objects, strings, TTL values — is marked in the Set
 * log as before; at capture those keys are read at their barrier-time value, which overrides
 * whatever the write log says about them. The log follows the Set log's generations: the
 * delta of a checkpoint holds every generation not yet confirmed.
 *
 * Bound: a generation logs at most max(LOG_MIN_CAP, entries / 2) writes (entries counted as the
 * log grows). Uniform writes past that have changed about 40 % of the entries or more, where a
 * delta saves little over a full snapshot and deduplicating the log costs more than packing
 * everything. So past the bound the generation stops logging (its chunks are dropped) and the
 * next checkpoint is a full one: cut returns undefined until that generation is confirmed.
 * (Folding the log into the Set log instead, as before, put a Set insert per write back on the
 * loop for the rest of a long interval: the 10 s incremental run was 1.7× the loop CPU of none.)
 */
import { ChangeLog, type ChangedKeys } from '../change-log.js';

/** Writes per log chunk. */
export const LOG_CHUNK = 1 << 16;
const LOG_MIN_CAP = 1 << 20;
/** Table ids that fit the log's Uint8Array; a later table marks Sets. */
export const LOG_MAX_TABLE = 255;

export interface LogChunk {
  tables: Uint8Array;
  groups: Uint16Array;
  keys: Float64Array;
  values: Float64Array;
  length: number;
  /** Packer jobs reading this chunk now (the loop's side only; see holdChunks). */
  readers: number;
  /** No generation holds it any more: it is reused once no packer job reads it either. */
  released: boolean;
}

/**
 * Chunks no generation and no packer holds any more, kept for the next ones: a fresh 1.2 MB
 * chunk costs page faults on its first writes and, as external memory, pushes V8 into extra
 * full collections of a heap of millions of entries (as the captures did, float-pool.ts). An
 * interval at 2M keys fills about 25 chunks.
 */
const SPARE_CHUNKS_MAX = 64;
const spareChunks: LogChunk[] = [];

/** Bytes of one chunk: keys and values (8 B each), group (2 B), table (1 B) per write. */
const CHUNK_BYTES = LOG_CHUNK * (8 + 8 + 2 + 1);

/**
 * A chunk over one SharedArrayBuffer: the packer thread reads a cut generation's chunks where
 * they are, so they are neither copied nor transferred (a transfer comes back as new
 * ArrayBuffers, external memory the loop's GC answers with full collections).
 */
export function takeChunk(): LogChunk {
  const c = spareChunks.pop();
  if (c !== undefined) {
    c.length = 0;
    c.released = false;
    return c;
  }
  const sab = new SharedArrayBuffer(CHUNK_BYTES);
  return {
    keys: new Float64Array(sab, 0, LOG_CHUNK),
    values: new Float64Array(sab, 8 * LOG_CHUNK, LOG_CHUNK),
    groups: new Uint16Array(sab, 16 * LOG_CHUNK, LOG_CHUNK),
    tables: new Uint8Array(sab, 18 * LOG_CHUNK, LOG_CHUNK),
    length: 0,
    readers: 0,
    released: false,
  };
}

function recycle(c: LogChunk): void {
  if (spareChunks.length < SPARE_CHUNKS_MAX) spareChunks.push(c);
}

/** Chunks no generation holds any more (their contents are garbage to the next taker once no packer reads them). */
export function giveChunks(chunks: readonly LogChunk[]): void {
  for (const c of chunks) {
    c.released = true;
    if (c.readers === 0) recycle(c);
  }
}

/**
 * A packer job starts reading `chunks`. A later checkpoint's delta holds every generation not
 * yet confirmed, so a generation may be confirmed (released) while that later job still reads
 * it: it is reused only after letGoChunks.
 */
export function holdChunks(chunks: readonly LogChunk[]): void {
  for (const c of chunks) c.readers++;
}

/** A packer job has finished reading `chunks` (or failed). */
export function letGoChunks(chunks: readonly LogChunk[]): void {
  for (const c of chunks) if (--c.readers === 0 && c.released) recycle(c);
}

export class HeapChangeLog extends ChangeLog {
  private chunks: LogChunk[] = [];
  private chunk: LogChunk | undefined;
  private count = 0;
  /** This generation passed its bound: nothing more is logged until the next cut. */
  private overflowed = false;
  private readonly logGenerations: { id: number; chunks: LogChunk[]; overflowed: boolean }[] = [];
  /** The write log of the last cut: every generation not yet confirmed, oldest first. */
  lastCut: { id: number; chunks: LogChunk[] } | undefined;

  /** A number written under a number key: appended, not marked. */
  log(table: number, groupIndex: number, key: number, value: number): void {
    let c = this.chunk;
    if (c === undefined || c.length === LOG_CHUNK) {
      if (this.overflowed) return;
      if (this.count >= Math.max(this.minCap, this.entries() / 2)) return this.overflow();
      c = this.chunk = takeChunk();
      this.chunks.push(c);
    }
    const i = c.length++;
    c.tables[i] = table;
    c.groups[i] = groupIndex;
    c.keys[i] = key;
    c.values[i] = value;
    this.count++;
  }

  /** Past the bound: this generation's writes are no longer kept; its checkpoint will be full. */
  private overflow(): void {
    this.overflowed = true;
    giveChunks(this.chunks);
    this.chunks = [];
    this.chunk = undefined;
  }

  /** `entries`: the state's entry count now, which sets the bound. */
  constructor(
    groupCount: number,
    private readonly entries: () => number,
    /** The smallest bound (tests lower it to reach the overflow). */
    private readonly minCap = LOG_MIN_CAP,
  ) {
    super(groupCount);
  }

  /** As ChangeLog.cut, and undefined when a generation since the last confirmed checkpoint overflowed. */
  override cut(id: number): ChangedKeys | undefined {
    const changed = super.cut(id);
    this.logGenerations.push({ id, chunks: this.chunks, overflowed: this.overflowed });
    this.chunks = [];
    this.chunk = undefined;
    this.count = 0;
    this.overflowed = false;
    const full = this.logGenerations.some((g) => g.overflowed);
    this.lastCut = { id, chunks: full ? [] : this.logGenerations.flatMap((g) => g.chunks) };
    return full ? undefined : changed;
  }

  /** Told of every confirmed checkpoint (the store's numeric tables keep their base version by it). */
  onConfirm: ((id: number) => void) | undefined;

  override confirm(id: number): void {
    super.confirm(id);
    this.onConfirm?.(id);
    let n = 0;
    while (n < this.logGenerations.length && this.logGenerations[n].id <= id) n++;
    for (const g of this.logGenerations.splice(0, n)) giveChunks(g.chunks);
  }

  override reset(): void {
    super.reset();
    for (const g of this.logGenerations) giveChunks(g.chunks);
    giveChunks(this.chunks);
    this.logGenerations.length = 0;
    this.chunks = [];
    this.chunk = undefined;
    this.count = 0;
    this.overflowed = false;
    this.lastCut = undefined;
  }
}
