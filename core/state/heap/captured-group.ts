/**
 * One key group of a heap snapshot as captured on the record loop, before it is packed into
 * the keyed snapshot format (../snapshot-format.ts). Capture is the part the loop must pay
 * (it fixes the barrier-time state); packing may happen on another thread
 * (snapshot-packer.ts), so a captured group holds only what a thread boundary carries without
 * serialising: numbers in typed arrays, or bytes already encoded.
 *
 * Numeric form: when every stored key and value of the group's plain tables is a number (a
 * count, a sum, a numeric id), the capture is a copy into Float64Arrays — an order of magnitude
 * cheaper per entry than msgpack — and the packer writes them as a number-run chunk
 * (../number-runs.ts), which restores to the same entries. Anything else (strings, objects, lists, map state, TTL wrappers) is
 * encoded on the loop as before.
 */
import type { StateKind } from '../keyed-store.js';
import { encodeNumberRuns, NUMBER_RUNS_WRITABLE } from '../number-runs.js';
import {
  decodeKeyGroupChunk,
  encodeKeyGroupChunkInPlace,
  encodeNumericDelta,
  encodeNumericRun,
  type KeyGroupChunk,
  type KeyGroupIndex,
  type KeyedSnapshot,
} from '../snapshot-format.js';
import { DedupedLog } from './log-dedup.js';
import { LOG_MAX_TABLE, type LogChunk } from './write-log.js';

export interface NumericGroup {
  kg: number;
  /** The tables with state in this group; position = table ref. */
  tables: [name: string, kind: StateKind][];
  /** Per table ref: stored keys and their values, in the group's order. */
  keys: Float64Array[];
  values: Float64Array[];
  /** Delta only, per table ref: stored keys removed since the base. */
  deleted?: Float64Array[];
}

export interface EncodedGroup {
  kg: number;
  bytes: Uint8Array;
}

export type CapturedGroup = NumericGroup | EncodedGroup;

/**
 * The chunk bytes of a captured group: encoded bytes as they are, numeric groups as a
 * number-run chunk (../number-runs.ts; on a big-endian platform as the msgpack entry list).
 * Either way a view not copied out (../chunk-space.ts): the snapshot's buffer is its one copy.
 */
export function packCapturedGroup(g: CapturedGroup): Uint8Array {
  if ('bytes' in g) return g.bytes;
  if (NUMBER_RUNS_WRITABLE) return encodeNumberRuns(g.kg, g.tables, g.keys, g.values, g.deleted);
  return encodeKeyGroupChunkInPlace(g.kg, chunkOf(g));
}

/**
 * One chunk holding both chunks' tables (a key group with numeric tables read from shared
 * memory and Map tables captured on the loop; no table is in both).
 */
function joinChunks(kg: number, a: Uint8Array, b: Uint8Array): Uint8Array {
  const x = decodeKeyGroupChunk(a, kg);
  const y = decodeKeyGroupChunk(b, kg);
  const shift = x.tables.length;
  const entries = [...x.entries];
  for (let i = 0; i < y.entries.length; i += 3) entries.push((y.entries[i] as number) + shift, y.entries[i + 1], y.entries[i + 2]);
  const chunk: KeyGroupChunk = { tables: [...x.tables, ...y.tables], entries };
  if (x.deletions !== undefined || y.deletions !== undefined) {
    const deletions = [...(x.deletions ?? [])];
    const d = y.deletions ?? [];
    for (let i = 0; i < d.length; i += 2) deletions.push((d[i] as number) + shift, d[i + 1]);
    chunk.deletions = deletions;
  }
  if (x.appends !== undefined || y.appends !== undefined) {
    const appends = [...(x.appends ?? [])];
    const a = y.appends ?? [];
    for (let i = 0; i < a.length; i += 3) appends.push((a[i] as number) + shift, a[i + 1], a[i + 2]);
    chunk.appends = appends;
  }
  if (x.entryChanges !== undefined || y.entryChanges !== undefined) {
    const changes = [...(x.entryChanges ?? [])];
    const c = y.entryChanges ?? [];
    for (let i = 0; i < c.length; i += 4) changes.push((c[i] as number) + shift, c[i + 1], c[i + 2], c[i + 3]);
    chunk.entryChanges = changes;
  }
  return encodeKeyGroupChunkInPlace(kg, chunk);
}

/** The buffers a captured group hands to another thread without copying: encoded bytes (numeric groups are shared, float-pool.ts). */
export function transferablesOf(g: CapturedGroup): ArrayBuffer[] {
  return 'bytes' in g ? [g.bytes.buffer as ArrayBuffer] : [];
}

/** A numeric group's arrays (pooled, float-pool.ts), to give back once it is packed. */
export function floatsOf(g: CapturedGroup): Float64Array[] {
  return 'bytes' in g ? [] : [...g.keys, ...g.values, ...(g.deleted ?? [])];
}

/** The chunk content of a captured group (decoding it when it was encoded on the loop). */
function chunkOf(g: CapturedGroup): KeyGroupChunk {
  if ('bytes' in g) {
    const c = decodeKeyGroupChunk(g.bytes, g.kg);
    return {
      tables: c.tables,
      entries: c.entries,
      deletions: c.deletions ?? [],
      ...(c.appends !== undefined ? { appends: c.appends } : {}),
      ...(c.entryChanges !== undefined ? { entryChanges: c.entryChanges } : {}),
    };
  }
  const entries: unknown[] = [];
  const deletions: unknown[] = [];
  g.keys.forEach((keys, ref) => {
    for (let i = 0; i < keys.length; i++) entries.push(ref, keys[i], g.values[ref][i]);
  });
  g.deleted?.forEach((keys, ref) => {
    for (let i = 0; i < keys.length; i++) deletions.push(ref, keys[i]);
  });
  return { tables: [...g.tables], entries, ...(g.deleted !== undefined ? { deletions } : {}) };
}

/**
 * Packs the groups of one snapshot, on the packer thread or on the loop: captured groups as they
 * come, and for a delta with a write log (write-log.ts) the log's last writes merged in. A key
 * the capture holds (read at the barrier: marked in the Set log) overrides the write log.
 */
export class GroupPacker {
  /** The log's last write per key, by group index; undefined without a log. */
  private readonly logged: DedupedLog | undefined;
  /** Group indexes whose captured group came (and was packed with its logged writes). */
  private readonly packed = new Set<number>();
  private readonly chunks = new Map<number, Uint8Array>();
  /** Chunks of numeric tables read from shared memory (numeric-scan.ts), by key group. */
  private readonly scanned = new Map<number, Uint8Array>();
  /** Scratch by table id (the log's table ids fit a byte): present in a group, and its ref. */
  private readonly present = new Uint8Array(LOG_MAX_TABLE + 1);
  private readonly refOf = new Uint8Array(LOG_MAX_TABLE + 1);

  constructor(
    private readonly rangeStart: number,
    /** Table descriptors by table id (to name the log's tables). */
    private readonly tables: [string, StateKind][],
    log: readonly LogChunk[] | undefined,
  ) {
    this.logged = log !== undefined && log.length > 0 ? new DedupedLog(log) : undefined;
  }

  add(g: CapturedGroup): void {
    const gi = g.kg - this.rangeStart;
    this.packed.add(gi);
    if (this.logged?.has(gi) !== true) this.chunks.set(g.kg, packCapturedGroup(g));
    else this.chunks.set(g.kg, this.merged(g.kg, chunkOf(g), this.logged));
  }

  /** The groups of a snapshot's numeric tables (numeric-scan.ts), joined with the same groups' Map tables at finish. */
  addScanned(groups: readonly NumericGroup[]): void {
    for (const g of groups) this.scanned.set(g.kg, packCapturedGroup(g));
  }

  private merged(kg: number, chunk: KeyGroupChunk, logged: DedupedLog): Uint8Array {
    const refOf = new Map(chunk.tables.map(([name], ref) => [name, ref]));
    const fixed = new Map<number, Set<unknown>>();
    const fix = (ref: unknown, key: unknown) => {
      let s = fixed.get(ref as number);
      if (s === undefined) fixed.set(ref as number, (s = new Set()));
      s.add(key);
    };
    for (let i = 0; i < chunk.entries.length; i += 3) fix(chunk.entries[i], chunk.entries[i + 1]);
    for (let i = 0; i < chunk.deletions!.length; i += 2) fix(chunk.deletions![i], chunk.deletions![i + 1]);
    const appends = chunk.appends ?? [];
    for (let i = 0; i < appends.length; i += 3) fix(appends[i], appends[i + 1]);
    const entryChanges = chunk.entryChanges ?? [];
    for (let i = 0; i < entryChanges.length; i += 4) fix(entryChanges[i], entryChanges[i + 1]);
    // Table id → ref in this chunk (a table the capture did not name is added).
    const refs: number[] = [];
    logged.forEach(kg - this.rangeStart, (t, k, v) => {
      let ref: number | undefined = refs[t];
      if (ref === undefined) {
        const [name, kind] = this.tables[t];
        ref = refOf.get(name);
        if (ref === undefined) {
          ref = chunk.tables.length;
          chunk.tables.push([name, kind]);
          refOf.set(name, ref);
        }
        refs[t] = ref;
      }
      const skip = fixed.get(ref);
      if (skip === undefined || !skip.has(k)) chunk.entries.push(ref, k, v);
    });
    // (The numeric form has no appends or entry changes.)
    if (appends.length > 0 || entryChanges.length > 0) return encodeKeyGroupChunkInPlace(kg, chunk);
    return encodeNumericDelta(kg, chunk.tables, chunk.entries, chunk.deletions!) ?? encodeKeyGroupChunkInPlace(kg, chunk);
  }

  /** The chunk of a group that only the write log changed: its last writes, straight from the log's arrays. */
  private loggedOnly(kg: number, logged: DedupedLog): Uint8Array {
    const from = logged.start(kg - this.rangeStart);
    const to = logged.end(kg - this.rangeStart);
    const present = this.present.fill(0);
    for (let n = from; n < to; n++) present[logged.tables[n]] = 1;
    const used: [string, StateKind][] = [];
    const refOf = this.refOf;
    for (let t = 0; t < present.length; t++) {
      if (present[t] === 0) continue;
      refOf[t] = used.length;
      used.push(this.tables[t]);
    }
    return encodeNumericRun(kg, used, refOf, logged.tables, logged.keys, logged.values, from, to);
  }

  /** The snapshot; `allocate` gives the buffer its bytes go to (by default a fresh one). */
  finish(
    keyGroups: { start: number; end: number },
    allocate: (bytes: number) => Uint8Array = (bytes) => new Uint8Array(bytes),
  ): KeyedSnapshot {
    const logged = this.logged;
    if (logged !== undefined) {
      for (let gi = 0; gi < logged.groupCount; gi++) {
        if (this.packed.has(gi) || !logged.has(gi)) continue;
        this.chunks.set(this.rangeStart + gi, this.loggedOnly(this.rangeStart + gi, logged));
      }
    }
    for (const [kg, bytes] of this.scanned) {
      const other = this.chunks.get(kg);
      this.chunks.set(kg, other === undefined ? bytes : joinChunks(kg, other, bytes));
    }
    this.scanned.clear();
    // Sized once: a growing buffer would hold up to three times the snapshot at its peak.
    const sorted = [...this.chunks].sort((a, b) => a[0] - b[0]);
    this.chunks.clear();
    const data = allocate(sorted.reduce((n, [, bytes]) => n + bytes.byteLength, 0));
    const index: KeyGroupIndex = [];
    let offset = 0;
    for (const [kg, bytes] of sorted) {
      data.set(bytes, offset);
      index.push([kg, offset, bytes.byteLength]);
      offset += bytes.byteLength;
    }
    return { data, keyGroups: { ...keyGroups }, index };
  }
}
