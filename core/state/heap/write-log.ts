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
 * Bound: a generation's log holds at most max(LOG_MIN_CAP, 2 × entries at the last barrier)
 * writes; past that its writes are folded into the Set log (one Set insert per distinct key,
 * paid once) and the generation goes on marking Sets, so a long interval costs what it did.
 */
import { ChangeLog } from '../change-log.js';

/** Writes per log chunk. */
const LOG_CHUNK = 1 << 16;
const LOG_MIN_CAP = 1 << 20;
/** Table ids that fit the log's Uint8Array; a later table marks Sets. */
export const LOG_MAX_TABLE = 255;

export interface LogChunk {
  tables: Uint8Array;
  groups: Uint16Array;
  keys: Float64Array;
  values: Float64Array;
  length: number;
}

const newChunk = (): LogChunk => ({
  tables: new Uint8Array(LOG_CHUNK),
  groups: new Uint16Array(LOG_CHUNK),
  keys: new Float64Array(LOG_CHUNK),
  values: new Float64Array(LOG_CHUNK),
  length: 0,
});

/** A copy of the used part of a chunk (for another thread; the original stays until confirmed). */
export const trimmed = (c: LogChunk): LogChunk => ({
  tables: c.tables.slice(0, c.length),
  groups: c.groups.slice(0, c.length),
  keys: c.keys.slice(0, c.length),
  values: c.values.slice(0, c.length),
  length: c.length,
});

export class HeapChangeLog extends ChangeLog {
  private chunks: LogChunk[] = [];
  private chunk: LogChunk | undefined;
  private count = 0;
  private cap = LOG_MIN_CAP;
  private readonly logGenerations: { id: number; chunks: LogChunk[] }[] = [];
  /** The write log of the last cut: every generation not yet confirmed, oldest first. */
  lastCut: { id: number; chunks: LogChunk[] } | undefined;

  /** A number written under a number key: appended, not marked. */
  log(table: number, groupIndex: number, key: number, value: number): void {
    let c = this.chunk;
    if (c === undefined || c.length === LOG_CHUNK) {
      if (this.count >= this.cap) return this.fold(table, groupIndex, key);
      c = this.chunk = newChunk();
      this.chunks.push(c);
    }
    const i = c.length++;
    c.tables[i] = table;
    c.groups[i] = groupIndex;
    c.keys[i] = key;
    c.values[i] = value;
    this.count++;
  }

  /** Past the cap: this generation's log goes into the Set log, and so does every later write. */
  private fold(table: number, groupIndex: number, key: number): void {
    for (const c of this.chunks) for (let i = 0; i < c.length; i++) this.mark(c.tables[i], c.groups[i], c.keys[i]);
    this.chunks = [];
    this.chunk = undefined;
    this.count = Infinity;
    this.mark(table, groupIndex, key);
  }

  /** `entries`: the state's entry count now, which sets each generation's bound. */
  constructor(
    groupCount: number,
    private readonly entries: () => number,
    /** The smallest bound (tests lower it to reach the fold). */
    private readonly minCap = LOG_MIN_CAP,
  ) {
    super(groupCount);
    this.cap = minCap;
  }

  override cut(id: number): ReturnType<ChangeLog['cut']> {
    const changed = super.cut(id);
    this.logGenerations.push({ id, chunks: this.chunks });
    this.chunks = [];
    this.chunk = undefined;
    this.count = 0;
    this.cap = Math.max(this.minCap, 2 * this.entries());
    this.lastCut = { id, chunks: this.logGenerations.flatMap((g) => g.chunks) };
    return changed;
  }

  override confirm(id: number): void {
    super.confirm(id);
    let n = 0;
    while (n < this.logGenerations.length && this.logGenerations[n].id <= id) n++;
    this.logGenerations.splice(0, n);
  }

  override reset(): void {
    super.reset();
    this.logGenerations.length = 0;
    this.chunks = [];
    this.chunk = undefined;
    this.count = 0;
    this.lastCut = undefined;
  }
}
