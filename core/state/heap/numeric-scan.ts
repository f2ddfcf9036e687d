/**
 * Reads a snapshot of numeric tables (numeric-slots.ts) while the record loop goes on writing
 * them: on the packer thread, or on the loop itself for a small snapshot (then nothing writes
 * meanwhile). A slot stamped below the snapshot's version and stamped the same before and after
 * its key and value were read holds its barrier-time entry; a slot written since is taken from
 * the pre-image log (pre-image-log.ts), read after every slot was. An entry read both ways
 * carries the same value and is kept once.
 *
 * A delta since base version B keeps only entries stamped in [B, snapV), and tombstones in that
 * range as deletions.
 */
import type { StateKind } from '../keyed-store.js';
import type { NumericGroup } from './captured-group.js';
import { hashOf } from './log-dedup.js';
import { isTombstone, slotViews, stampVersion, STAMP_EMPTY, type SlotViews } from './numeric-slots.js';
import { L_DONE, L_LENGTH, preImageViews } from './pre-image-log.js';

/** What the loop hands over at a barrier: buffers and versions, nothing copied. */
export interface NumericScan {
  rangeStart: number;
  /** Key groups in the range (a pre-image's id is tableId * groupCount + group index). */
  groupCount: number;
  /** The numeric tables at the barrier: store table id, name, kind. */
  tables: { id: number; name: string; kind: StateKind }[];
  /** buffers[n][gi]: table n's slots in group gi at the barrier (undefined: none). */
  buffers: (SharedArrayBuffer | undefined)[][];
  snapV: number;
  /** A delta's base version; undefined for a full snapshot. */
  base: number | undefined;
  /** The pre-image log, when the loop writes while this is read. */
  log: SharedArrayBuffer | undefined;
}

interface Read {
  keys: Float64Array;
  values: Float64Array;
  n: number;
  deleted: Float64Array;
  d: number;
}

/** Where a table's entries are read first (module state, one thread): grown to the largest table, reused. */
let scratchKeys = new Float64Array(0);
let scratchValues = new Float64Array(0);
let scratchDeleted = new Float64Array(0);
const NONE = new Float64Array(0);
/**
 * Per slot of every buffer scanned (at the buffer's offset): where the scan put its entry, i in
 * keys/values, ~i in deleted, or NOT_READ. A pre-image finds its slot by probing the buffer it
 * belongs to (keys never move or change within a buffer: a new key takes an empty slot, a
 * tombstone keeps its key) and so overrides the scan's read in O(1), with no map of the
 * scanned keys. Reused across snapshots.
 */
let readAt = new Int32Array(0);
const NOT_READ = 0x7fffffff;

/**
 * One table's entries in this snapshot, in arrays of exactly their size: the reads go into
 * scratch arrays first, since only a full pass tells how many there are (a table at a load of
 * half or less would otherwise take three arrays of its capacity per table and key group).
 */
function readSlots(views: SlotViews, snapV: number, base: number, delta: boolean, at: number): Read {
  const { capacity, keys, values, stamps } = views;
  if (scratchKeys.length < capacity) {
    scratchKeys = new Float64Array(capacity);
    scratchValues = new Float64Array(capacity);
    scratchDeleted = new Float64Array(capacity);
  }
  const sk = scratchKeys;
  const sv = scratchValues;
  const sd = scratchDeleted;
  const ra = readAt;
  let n = 0;
  let d = 0;
  for (let s = 0; s < capacity; s++) {
    ra[at + s] = NOT_READ;
    // A slot empty now was empty at the barrier (slots never empty again; every write before
    // the barrier happened before this scan was posted), so a plain read may skip it.
    if (stamps[s] === STAMP_EMPTY) continue;
    const before = Atomics.load(stamps, s);
    const version = stampVersion(before);
    if (version >= snapV || version < base) continue;
    const k = keys[s];
    const v = values[s];
    // Changed while read: its pre-image is in the log.
    if (Atomics.load(stamps, s) !== before) continue;
    if (!isTombstone(before)) {
      ra[at + s] = n;
      sk[n] = k;
      sv[n++] = v;
    } else if (delta) {
      ra[at + s] = ~d;
      sd[d++] = k;
    }
  }
  return { keys: sk.slice(0, n), values: sv.slice(0, n), n, deleted: d === 0 ? NONE : sd.slice(0, d), d };
}

/** The slot of `key` in a table buffer (it is there: the pre-image says it was at the barrier), or -1. */
function slotIn(views: SlotViews, key: number): number {
  const { capacity, keys, stamps } = views;
  const mask = capacity - 1;
  for (let s = hashOf(0, key) & mask, probes = 0; probes < capacity; s = (s + 1) & mask, probes++) {
    if (Atomics.load(stamps, s) === STAMP_EMPTY) return -1;
    if (keys[s] === key) return s;
  }
  return -1;
}

/**
 * Applies the pre-image log to the reads, once every slot was read: a pre-image overrides what
 * the scan read for its key (the same barrier-time entry, unless a read was torn on a weakly
 * ordered CPU), and adds the entries the scan skipped because they changed. The first
 * pre-image of a key wins (all of one key carry its barrier-time entry).
 */
function applyPreImages(scan: NumericScan, views: (SlotViews | undefined)[][], reads: (Read | undefined)[][], offsets: number[][], base: number, delta: boolean): void {
  const v = preImageViews(scan.log!);
  const refOf = new Map(scan.tables.map((t, n) => [t.id, n]));
  const added: number[] = [];
  try {
    const length = Atomics.load(v.header, L_LENGTH);
    for (let i = 0; i < length; i++) {
      const stamp = v.stamps[i];
      const version = stampVersion(stamp);
      if (stamp === STAMP_EMPTY || version >= scan.snapV || version < base) continue;
      if (isTombstone(stamp) && !delta) continue;
      const id = v.ids[i];
      const n = refOf.get(Math.floor(id / scan.groupCount));
      if (n === undefined) continue;
      const gi = id % scan.groupCount;
      const table = views[n][gi];
      const s = table === undefined ? -1 : slotIn(table, v.keys[i]);
      if (s < 0) continue;
      const at = offsets[n][gi] + s;
      const r = readAt[at];
      if (r === NOT_READ) {
        readAt[at] = -0x80000000; // taken: later pre-images of this key are skipped
        added.push(i);
      } else if (r >= 0) reads[n][gi]!.values[r] = v.values[i];
      // (r < 0 and not taken: a tombstone read by the scan, the same deletion.)
    }
    if (added.length > 0) appendAdded(scan, reads, refOf, added, v);
  } finally {
    // The loop stops appending (and may reuse the log at its next barrier).
    Atomics.store(v.header, L_DONE, 1);
    Atomics.notify(v.header, L_DONE);
  }
}

/** Appends the pre-images the scan had skipped, growing each table-and-group's arrays once. */
function appendAdded(scan: NumericScan, reads: (Read | undefined)[][], refOf: Map<number, number>, added: number[], v: ReturnType<typeof preImageViews>): void {
  const live = new Map<Read, number>();
  const gone = new Map<Read, number>();
  const readOf = (i: number): Read => {
    const id = v.ids[i];
    const n = refOf.get(Math.floor(id / scan.groupCount))!;
    const gi = id % scan.groupCount;
    return (reads[n][gi] ??= { keys: NONE, values: NONE, n: 0, deleted: NONE, d: 0 });
  };
  for (const i of added) {
    const r = readOf(i);
    const m = isTombstone(v.stamps[i]) ? gone : live;
    m.set(r, (m.get(r) ?? 0) + 1);
  }
  for (const [r, more] of live) {
    const keys = new Float64Array(r.n + more);
    const values = new Float64Array(r.n + more);
    keys.set(r.keys.subarray(0, r.n));
    values.set(r.values.subarray(0, r.n));
    r.keys = keys;
    r.values = values;
  }
  for (const [r, more] of gone) {
    const deleted = new Float64Array(r.d + more);
    deleted.set(r.deleted.subarray(0, r.d));
    r.deleted = deleted;
  }
  for (const i of added) {
    const r = readOf(i);
    if (isTombstone(v.stamps[i])) r.deleted[r.d++] = v.keys[i];
    else {
      r.keys[r.n] = v.keys[i];
      r.values[r.n++] = v.values[i];
    }
  }
}

/** Marks the log read when the scan itself failed: the loop must not wait for a reader that has given up. */
function releaseLog(log: SharedArrayBuffer): void {
  const header = preImageViews(log).header;
  Atomics.store(header, L_DONE, 1);
  Atomics.notify(header, L_DONE);
}

/** The snapshot's numeric groups, by key group, in the shape the packer packs (captured-group.ts). */
export function scanNumericTables(scan: NumericScan): NumericGroup[] {
  const delta = scan.base !== undefined;
  const base = scan.base ?? 0;
  const views = scan.buffers.map((groups) => groups.map((b) => (b === undefined ? undefined : slotViews(b))));
  let total = 0;
  const offsets = views.map((groups) =>
    groups.map((t) => {
      const at = total;
      total += t?.capacity ?? 0;
      return at;
    }),
  );
  if (readAt.length < total) readAt = new Int32Array(total);
  let reads: (Read | undefined)[][];
  try {
    reads = views.map((groups, n) => groups.map((t, gi) => (t === undefined ? undefined : readSlots(t, scan.snapV, base, delta, offsets[n][gi]))));
  } catch (err) {
    if (scan.log !== undefined) releaseLog(scan.log);
    throw err;
  }
  if (scan.log !== undefined) applyPreImages(scan, views, reads, offsets, base, delta);
  const groups: NumericGroup[] = [];
  for (let gi = 0; gi < scan.groupCount; gi++) {
    const g: NumericGroup = { kg: scan.rangeStart + gi, tables: [], keys: [], values: [], ...(delta ? { deleted: [] } : {}) };
    scan.tables.forEach((t, n) => {
      const r = reads[n][gi];
      if (r === undefined || r.n + r.d === 0) return;
      g.tables.push([t.name, t.kind]);
      g.keys.push(r.keys.subarray(0, r.n));
      g.values.push(r.values.subarray(0, r.n));
      g.deleted?.push(r.deleted.subarray(0, r.d));
    });
    if (g.tables.length > 0) groups.push(g);
  }
  return groups;
}
