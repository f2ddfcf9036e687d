/**
 * The keyed-state snapshot format, shared by every backend (a heap snapshot restores into LMDB
 * and back):
 *
 *   data  = chunk(kg a) ‖ chunk(kg b) ‖ …      ascending key groups; a group without state has no chunk
 *   index = [[a, 0, len a], [b, len a, len b], …]   [keyGroup, byte offset, byte length]
 *
 *   chunk = one msgpackr message, records defined inline (no shared structures), so any chunk
 *           decodes on its own and a rescaled restore reads only the groups it owns (a chunk
 *           of plain data is written by hand, the same bytes: ./plain-pack.ts):
 *
 *     [ 1,                        format version
 *       kg,                       key group (checked against the index on restore)
 *       [[name, kind], …],        the tables with state in this group; position = table ref
 *       [t, storedKey, value,     flat triples, t = table ref
 *        t, storedKey, value, …],
 *       [t, storedKey, …] ]       only in a delta (incremental) chunk: flat pairs of keys
 *                                 deleted since the previous checkpoint
 *
 *   A full snapshot's chunks have 4 elements; a delta's have 5 and hold only what changed
 *   (entries set, deletions removed), applied in chain order on top of a full one.
 *
 *   A delta chunk with lists only appended to since its base (version 3):
 *
 *     [ 3, kg, tables, entries, deletions,
 *       [t, storedKey, [element, …], …] ]   flat triples: list state only, these elements
 *                                           appended to the key's list as restored so far
 *
 *   A delta chunk with maps changed only entry by entry since its base (version 4):
 *
 *     [ 4, kg, tables, entries, deletions, appends,
 *       [t, storedKey, [[userKey, userValue], …],   flat quads: map state only, these entries
 *        [storedUserKey, …], …] ]                   set and these removed (by the stored form of
 *                                                   their user key) on the map as restored so far
 *
 *   A full snapshot never holds appends or entry changes (a restore refuses a base that does); a
 *   delta without them is written as version 1 (or 3 with appends only), so snapshots of state
 *   without such changes are unchanged.
 *
 *   value of map state = [[userKey, userValue], …]   (the user key as given, not its stored form)
 *
 *   A chunk whose tables hold only numbers may instead be a number-run chunk (version 2,
 *   number-runs.ts): the same tables, with keys and values as raw runs.
 *
 * storedKey is `storedKey(key)` from keyed-store.ts: primitives as they are, composite keys as
 * their JSON text.
 */
import { Buffer } from 'node:buffer';
import { Packr, Unpackr } from 'msgpackr';
import { EddyError } from '../failure.js';
import { writeArrayHeader, writeNumber } from '../msgpack-write.js';
import { ChunkSpace } from './chunk-space.js';
import { PlainPacker } from './plain-pack.js';
import type { StateKind } from './keyed-store.js';
import { entriesOfRuns, NUMBER_RUNS_VERSION } from './number-runs.js';

export const KEYED_SNAPSHOT_VERSION = 1;
/** A delta chunk that also appends to lists. */
export const KEYED_APPENDS_VERSION = 3;
/** A delta chunk that also changes maps entry by entry. */
export const KEYED_ENTRIES_VERSION = 4;

export type KeyGroupIndex = [keyGroup: number, offset: number, length: number][];

export interface KeyedSnapshot {
  data: Uint8Array;
  keyGroups: { start: number; end: number };
  index: KeyGroupIndex;
  /**
   * A delta was asked for but the backend could only take a full snapshot (its changes since
   * the base are not known exactly): written as a new base, not appended to the chain.
   */
  rebased?: boolean;
  /** CRC-32 of `data`, when it was taken where the bytes were packed (off the record loop). */
  crc32?: number;
  /**
   * The caller is done with `data` (it is written): its buffer may be reused for a later
   * snapshot. Present when the buffer is pooled; without the call it is left to the GC.
   */
  release?: () => void;
}

/** One old subtask's snapshot as seen by a restore; `source` names it in errors (a file path). */
export interface KeyedSnapshotPart {
  data: Uint8Array;
  index: KeyGroupIndex;
  source?: string;
}

export interface KeyGroupChunk {
  tables: [name: string, kind: StateKind][];
  /** Flat triples: table position, stored key, value. */
  entries: unknown[];
  /** Delta chunks only: flat pairs of table position, stored key removed since the base. */
  deletions?: unknown[];
  /** Delta chunks only: flat triples of table position (list state), stored key, elements appended since the base. */
  appends?: unknown[];
  /** Delta chunks only: flat quads of table position (map state), stored key, [userKey, value] pairs set, stored user keys removed since the base. */
  entryChanges?: unknown[];
}

const KINDS: ReadonlySet<string> = new Set<StateKind>(['value', 'list', 'map', 'reducing', 'aggregating']);

// No `structures` option: record definitions then travel inside each message, which is what
// lets one chunk decode without the others.
const PACK_OPTIONS = { useRecords: true, useBigIntExtension: true };
const packr = new Packr(PACK_OPTIONS);
const unpackr = new Unpackr({ useRecords: true, useBigIntExtension: true });

/**
 * Writes chunks one after another in its blocks and leaves each as a view: plain data by hand
 * (./plain-pack.ts, the same bytes), anything else with msgpackr. msgpackr's buffer and position
 * are module state shared by every Packr on the thread (the channel's codec too): it writes each
 * message after the last and moves to a new buffer when one is full, and only `useBuffer` or
 * RESET_BUFFER_MODE would write over an earlier message, so it is never pointed at a block of
 * ours (the two would write over each other) and eddy calls neither. So a view stays as it is
 * while it is held (test/state/snapshot.test.ts and plain-pack.test.ts check it), but shares its
 * ArrayBuffer.
 */
export class ChunkPacker {
  private readonly plain = new PlainPacker();

  /** Plain chunks go into `buf` from here on (heap/encode-arena.ts), then into new blocks once it is full. */
  useBuffer(buf: Buffer): void {
    this.plain.useBuffer(buf);
  }

  pack(msg: unknown[]): Uint8Array {
    return this.plain.pack(msg) ?? packr.pack(msg);
  }
}

const chunkPacker = new ChunkPacker();

/** Encodes one key group's chunk into a view of the packer's block (see ChunkPacker). */
function encodeChunk(keyGroup: number, chunk: KeyGroupChunk, p: ChunkPacker = chunkPacker): Uint8Array {
  if (chunk.entryChanges !== undefined && chunk.entryChanges.length > 0) {
    const { tables, entries, deletions, appends, entryChanges } = chunk;
    return p.pack([KEYED_ENTRIES_VERSION, keyGroup, tables, entries, deletions ?? [], appends ?? [], entryChanges]);
  }
  if (chunk.appends !== undefined && chunk.appends.length > 0) {
    return p.pack([KEYED_APPENDS_VERSION, keyGroup, chunk.tables, chunk.entries, chunk.deletions ?? [], chunk.appends]);
  }
  const msg = [KEYED_SNAPSHOT_VERSION, keyGroup, chunk.tables, chunk.entries];
  if (chunk.deletions !== undefined) msg.push(chunk.deletions);
  return p.pack(msg);
}

/** One key group's chunk in bytes the caller owns (to transfer to another thread, or keep). */
export function encodeKeyGroupChunk(keyGroup: number, chunk: KeyGroupChunk): Uint8Array {
  return new Uint8Array(encodeChunk(keyGroup, chunk));
}

/**
 * One key group's chunk as a view that stays as it is but cannot be transferred (see
 * ChunkPacker): for a snapshot assembled on this thread, which copies it once, into its buffer.
 */
export function encodeKeyGroupChunkInPlace(keyGroup: number, chunk: KeyGroupChunk): Uint8Array {
  return encodeChunk(keyGroup, chunk);
}

/** encodeKeyGroupChunkInPlace through `p`, a packer of the caller's own (for a buffer it is given: heap/encode-arena.ts). */
export function encodeKeyGroupChunkWith(p: ChunkPacker, keyGroup: number, chunk: KeyGroupChunk): Uint8Array {
  return encodeChunk(keyGroup, chunk, p);
}

/**
 * Builds one key group's chunk from values that are msgpack already (the LMDB backend stores
 * them so): msgpack is concatenative, so entries are appended as bytes without decoding and
 * re-encoding each value. The result decodes exactly like encodeKeyGroupChunk's.
 */
export class RawChunkBuilder {
  private buf = Buffer.allocUnsafe(1 << 14);
  private view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  private size = 0;
  private count = 0;

  private ensure(n: number): void {
    if (this.size + n <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.size + n));
    this.buf.copy(grown, 0, 0, this.size);
    this.buf = grown;
    this.view = new DataView(grown.buffer, grown.byteOffset, grown.byteLength);
  }

  private append(bytes: Uint8Array): void {
    this.ensure(bytes.byteLength);
    this.buf.set(bytes, this.size);
    this.size += bytes.byteLength;
  }

  /** One entry: table ref, stored key, the value's msgpack bytes. */
  add(ref: number, stored: unknown, packedValue: Uint8Array): void {
    this.addKey(ref, stored);
    this.append(packedValue);
    this.count++;
  }

  /** One entry whose value is a number, written as packr writes it (no bytes allocated for it). */
  addNumber(ref: number, stored: unknown, value: number): void {
    this.addKey(ref, stored);
    this.ensure(9);
    this.size = writeNumber(this.buf, this.view, this.size, value);
    this.count++;
  }

  private addKey(ref: number, stored: unknown): void {
    this.ensure(16);
    if (ref < 128) this.buf[this.size++] = ref;
    else this.append(packr.pack(ref));
    if (typeof stored === 'string' && stored.length < 0x10000 / 3) {
      const n = Buffer.byteLength(stored, 'utf8');
      this.ensure(3 + n);
      if (n < 32) this.buf[this.size++] = 0xa0 | n;
      else {
        this.buf[this.size++] = 0xda; // str16
        this.buf.writeUInt16BE(n, this.size);
        this.size += 2;
      }
      this.size += this.buf.write(stored, this.size, 'utf8');
    } else if (typeof stored === 'number' && Number.isInteger(stored) && stored >= 0 && stored <= 0xffffffff) {
      // The smallest msgpack unsigned form, as packr itself would write it.
      this.ensure(5);
      if (stored < 0x80) this.buf[this.size++] = stored;
      else if (stored < 0x100) {
        this.buf[this.size++] = 0xcc;
        this.buf[this.size++] = stored;
      } else if (stored < 0x10000) {
        this.buf[this.size++] = 0xcd;
        this.buf.writeUInt16BE(stored, this.size);
        this.size += 2;
      } else {
        this.buf[this.size++] = 0xce;
        this.buf.writeUInt32BE(stored, this.size);
        this.size += 4;
      }
    } else {
      this.append(packr.pack(stored));
    }
  }

  /** One entry whose stored key is msgpack already: the first `keyLength` bytes of `packedKey`. */
  addPacked(ref: number, packedKey: Buffer, keyLength: number, packedValue: Uint8Array): void {
    this.ensure(1);
    if (ref < 128) this.buf[this.size++] = ref;
    else this.append(packr.pack(ref));
    this.ensure(keyLength);
    packedKey.copy(this.buf, this.size, 0, keyLength);
    this.size += keyLength;
    this.append(packedValue);
    this.count++;
  }

  get entryCount(): number {
    return this.count;
  }

  /** The chunk: [version, kg, tables, entries] or, with deletions, the delta form. */
  finish(keyGroup: number, tables: [string, StateKind][], deletions?: unknown[]): Uint8Array {
    const head = Buffer.from(packr.pack([KEYED_SNAPSHOT_VERSION, keyGroup, tables]));
    // Replace the 3-element array header (0x93) by one of 4 or 5 elements.
    head[0] = deletions === undefined ? 0x94 : 0x95;
    const arrayHeader = Buffer.allocUnsafe(5);
    arrayHeader[0] = 0xdd; // array32 of 3 × entries
    arrayHeader.writeUInt32BE(this.count * 3, 1);
    const tail = deletions === undefined ? Buffer.alloc(0) : Buffer.from(packr.pack(deletions));
    return Buffer.concat([head, arrayHeader, this.buf.subarray(0, this.size), tail]);
  }
}

/** Where numeric chunks are written and left (module state, one thread). */
const space = new ChunkSpace(1 << 20);

/**
 * A delta chunk written directly when every entry and deletion is a number: the same bytes as
 * encodeKeyGroupChunk(keyGroup, { tables, entries, deletions }); undefined when one is not. The
 * bytes are a view that stays as it is (chunk-space.ts), not transferable.
 */
export function encodeNumericDelta(
  keyGroup: number,
  tables: [string, StateKind][],
  entries: unknown[],
  deletions: unknown[],
): Uint8Array | undefined {
  for (const x of entries) if (typeof x !== 'number') return undefined;
  for (const x of deletions) if (typeof x !== 'number') return undefined;
  let pos = startNumericChunk(keyGroup, tables, entries.length, deletions.length, true);
  const out = space.buf;
  const view = space.view;
  for (const x of entries as number[]) pos = writeNumber(out, view, pos, x);
  pos = writeArrayHeader(out, view, pos, deletions.length);
  for (const x of deletions as number[]) pos = writeNumber(out, view, pos, x);
  return space.take(pos);
}

/**
 * A delta chunk without deletions from entries held in typed arrays, written directly: entry n
 * of [from, to) is (refOf[tableIds[n]], keys[n], values[n]); the same bytes as
 * encodeKeyGroupChunk(keyGroup, { tables, entries, deletions: [] }). The heap packer writes a
 * deduplicated write log with it (heap/log-dedup.ts). The bytes are a view, as encodeNumericDelta's.
 */
export function encodeNumericRun(
  keyGroup: number,
  tables: [string, StateKind][],
  refOf: ArrayLike<number>,
  tableIds: ArrayLike<number>,
  keys: ArrayLike<number>,
  values: ArrayLike<number>,
  from: number,
  to: number,
): Uint8Array {
  let pos = startNumericChunk(keyGroup, tables, (to - from) * 3, 0, true);
  const out = space.buf;
  const view = space.view;
  for (let n = from; n < to; n++) {
    pos = writeNumber(out, view, pos, refOf[tableIds[n]]);
    pos = writeNumber(out, view, pos, keys[n]);
    pos = writeNumber(out, view, pos, values[n]);
  }
  pos = writeArrayHeader(out, view, pos, 0);
  return space.take(pos);
}

/**
 * Makes room in the chunk space for a chunk of `entryItems` numbers (+ `deletionItems` in a
 * delta), writes the chunk's head up to the entries' array header; returns the next position.
 */
function startNumericChunk(
  keyGroup: number,
  tables: [string, StateKind][],
  entryItems: number,
  deletionItems: number,
  delta: boolean,
): number {
  const head = packr.pack([KEYED_SNAPSHOT_VERSION, keyGroup, tables]);
  const bound = head.length + 10 + (entryItems + deletionItems) * 9;
  const start = space.reserve(bound);
  space.buf.set(head, start);
  space.buf[start] = delta ? 0x95 : 0x94; // [version, kg, tables] plus entries (and deletions)
  return writeArrayHeader(space.buf, space.view, start + head.length, entryItems);
}

/** Accumulates chunks into one contiguous buffer and its index. */
export class KeyedSnapshotWriter {
  private buf = new Uint8Array(1 << 16);
  private size = 0;
  private readonly index: KeyGroupIndex = [];

  add(keyGroup: number, chunk: KeyGroupChunk): void {
    this.addEncoded(keyGroup, encodeChunk(keyGroup, chunk));
  }

  /** Appends an already encoded chunk; key groups must come in ascending order. */
  addEncoded(keyGroup: number, bytes: Uint8Array): void {
    if (this.size + bytes.byteLength > this.buf.byteLength) {
      const grown = new Uint8Array(Math.max(this.buf.byteLength * 2, this.size + bytes.byteLength));
      grown.set(this.buf.subarray(0, this.size));
      this.buf = grown;
    }
    this.buf.set(bytes, this.size);
    this.index.push([keyGroup, this.size, bytes.byteLength]);
    this.size += bytes.byteLength;
  }

  finish(keyGroups: { start: number; end: number }): KeyedSnapshot {
    return { data: this.buf.slice(0, this.size), keyGroups: { ...keyGroups }, index: this.index };
  }
}

function corrupt(where: string, why: string): EddyError {
  return new EddyError('CHECKPOINT_CORRUPT', `keyed state snapshot ${where} is corrupt: ${why}`);
}

function decodeChunk(bytes: Uint8Array, keyGroup: number, where: string): KeyGroupChunk {
  let msg: unknown;
  try {
    msg = unpackr.unpack(bytes);
  } catch (err) {
    throw corrupt(where, `key group ${keyGroup} does not decode (${(err as Error).message})`);
  }
  const entriesForm = Array.isArray(msg) && msg[0] === KEYED_ENTRIES_VERSION && msg.length === 7;
  const appendsForm = entriesForm || (Array.isArray(msg) && msg[0] === KEYED_APPENDS_VERSION && msg.length === 6);
  if (
    !Array.isArray(msg) ||
    (!appendsForm && msg.length !== 4 && msg.length !== 5) ||
    (!appendsForm && msg[0] !== KEYED_SNAPSHOT_VERSION && msg[0] !== NUMBER_RUNS_VERSION)
  ) {
    throw corrupt(
      where,
      `key group ${keyGroup} is not a version ${KEYED_SNAPSHOT_VERSION}, ${NUMBER_RUNS_VERSION}, ${KEYED_APPENDS_VERSION} or ${KEYED_ENTRIES_VERSION} chunk`,
    );
  }
  const [version, kg, tables, rest, more, appends, entryChanges] = msg as [number, unknown, unknown, unknown, unknown, unknown, unknown];
  if (kg !== keyGroup) throw corrupt(where, `the index says key group ${keyGroup}, the chunk says ${String(kg)}`);
  if (!Array.isArray(tables) || !tables.every((t) => Array.isArray(t) && typeof t[0] === 'string' && KINDS.has(t[1]))) {
    throw corrupt(where, `key group ${keyGroup} has a malformed table list`);
  }
  if (version === NUMBER_RUNS_VERSION) {
    const read = entriesOfRuns(tables as KeyGroupChunk['tables'], rest, more);
    if (typeof read === 'string') throw corrupt(where, `key group ${keyGroup} has ${read}`);
    return { tables: tables as KeyGroupChunk['tables'], entries: read.entries, deletions: read.deletions };
  }
  const entries = rest;
  const deletions = more;
  if (!Array.isArray(entries) || entries.length % 3 !== 0) throw corrupt(where, `key group ${keyGroup} has malformed entries`);
  for (let i = 0; i < entries.length; i += 3) {
    const t = entries[i];
    if (!Number.isInteger(t) || (t as number) < 0 || (t as number) >= tables.length) {
      throw corrupt(where, `key group ${keyGroup} has an entry for unknown table ${String(t)}`);
    }
    if (tables[t as number][1] === 'map' && !isPairList(entries[i + 2])) {
      throw corrupt(where, `key group ${keyGroup} has a map state value that is not a list of [key, value] pairs`);
    }
  }
  if (deletions !== undefined) {
    if (!Array.isArray(deletions) || deletions.length % 2 !== 0) throw corrupt(where, `key group ${keyGroup} has malformed deletions`);
    for (let i = 0; i < deletions.length; i += 2) {
      const t = deletions[i];
      if (!Number.isInteger(t) || (t as number) < 0 || (t as number) >= tables.length) {
        throw corrupt(where, `key group ${keyGroup} deletes from unknown table ${String(t)}`);
      }
    }
  }
  const chunk: KeyGroupChunk = { tables: tables as KeyGroupChunk['tables'], entries, deletions: deletions as unknown[] | undefined };
  if (appendsForm) {
    if (!Array.isArray(appends) || appends.length % 3 !== 0) throw corrupt(where, `key group ${keyGroup} has malformed appends`);
    for (let i = 0; i < appends.length; i += 3) {
      const t = appends[i];
      if (!Number.isInteger(t) || (t as number) < 0 || (t as number) >= tables.length || tables[t as number][1] !== 'list') {
        throw corrupt(where, `key group ${keyGroup} appends to ${String(t)}, which is not a list state table`);
      }
      if (!Array.isArray(appends[i + 2])) throw corrupt(where, `key group ${keyGroup} appends something that is not a list of elements`);
    }
    if (appends.length > 0 || !entriesForm) chunk.appends = appends;
  }
  if (entriesForm) {
    if (!Array.isArray(entryChanges) || entryChanges.length % 4 !== 0)
      throw corrupt(where, `key group ${keyGroup} has malformed entry changes`);
    for (let i = 0; i < entryChanges.length; i += 4) {
      const t = entryChanges[i];
      if (!Number.isInteger(t) || (t as number) < 0 || (t as number) >= tables.length || tables[t as number][1] !== 'map') {
        throw corrupt(where, `key group ${keyGroup} changes entries of ${String(t)}, which is not a map state table`);
      }
      if (!isPairList(entryChanges[i + 2]) || !Array.isArray(entryChanges[i + 3])) {
        throw corrupt(where, `key group ${keyGroup} has entry changes that are not [key, value] pairs and a list of removed keys`);
      }
    }
    chunk.entryChanges = entryChanges;
  }
  return chunk;
}

/** One chunk's content (decoded and checked, as a restore reads it). */
export function decodeKeyGroupChunk(bytes: Uint8Array, keyGroup: number): KeyGroupChunk {
  return decodeChunk(bytes, keyGroup, 'being merged');
}

function isPairList(x: unknown): x is [unknown, unknown][] {
  return Array.isArray(x) && x.every((p) => Array.isArray(p) && p.length === 2);
}

/**
 * Calls `fn` for every key group in [start, end] found in any part, decoding only those; groups
 * outside the range are not touched. A group present in two parts is refused: key groups are
 * disjoint between subtasks, so that can only be a mixed-up checkpoint.
 */
export function forEachKeyGroupChunk(
  parts: readonly KeyedSnapshotPart[],
  range: { start: number; end: number },
  fn: (keyGroup: number, chunk: KeyGroupChunk) => void,
): void {
  const seen = new Map<number, string>();
  parts.forEach((part, p) => {
    const where = part.source ?? `part ${p}`;
    for (const entry of part.index) {
      const [kg, offset, length] = entry;
      if (![kg, offset, length].every((n) => Number.isSafeInteger(n) && n >= 0) || offset + length > part.data.byteLength) {
        throw corrupt(where, `index entry [${entry.join(', ')}] lies outside its ${part.data.byteLength} bytes`);
      }
      if (kg < range.start || kg > range.end) continue;
      const other = seen.get(kg);
      if (other !== undefined) throw corrupt(where, `key group ${kg} is also in ${other}`);
      seen.set(kg, where);
      fn(kg, decodeChunk(part.data.subarray(offset, offset + length), kg, where));
    }
  });
}
