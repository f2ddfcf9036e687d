/**
 * Reads a snapshot of numeric tables (numeric-slots.ts) while the record loop goes on writing
 * them: on the packer thread, or on the loop itself for a small snapshot (then nothing writes
 * meanwhile). A slot whose stamp, copied first, is below the snapshot's version held its key at
 * the barrier; its value is the barrier-time one unless the loop wrote it since, and then its
 * pre-image (pre-image-log.ts, read after every slot was) overrides it. A slot stamped since is
 * taken from its pre-image alone. An entry read both ways is kept once, with the pre-image's value.
 *
 * A delta since base version B keeps only entries stamped in [B, snapV), and tombstones in that
 * range as deletions.
 */
import type { StateKind } from '../keyed-store.js';
import type { NumericGroup } from './captured-group.js';
import { hashOf } from './log-dedup.js';
import { isTombstone, slotViews, stampVersion, STAMP_EMPTY, type SlotViews } from './numeric-slots.js';
import { L_DONE, L_LENGTH, L_READ_FENCE, preImageViews, type PreImageViews } from './pre-image-log.js';

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
/** The stamps of the table being read, copied in one go. */
let stampCopy = new Int32Array(0);
const NONE = new Float64Array(0);
/**
 * Per slot of every buffer scanned (at the buffer's offset), when a pre-image log is to be
 * applied: (i << 2) | READ_LIVE when the scan put its entry at i in keys/values, READ_GONE when
 * it read a tombstone in the delta's range, else no flag (not read). A pre-image finds its slot
 * by probing the buffer it belongs to (keys never move or change within a buffer: a new key
 * takes an empty slot, a tombstone keeps its key) and so overrides the scan's read in O(1), with
 * no map of the scanned keys. Reused across snapshots.
 */
let readAt = new Int32Array(0);
const READ_LIVE = 1;
const READ_GONE = 2;

/**
 * One table's entries in this snapshot, in arrays of their size (and room for the pre-images to
 * add): the reads go into scratch arrays first, since only a full pass tells how many there
 * are (a table at a load of half or less would otherwise take three arrays of its capacity).
 *
 * The stamps are copied in one go and the slots read without a branch on what each holds (the
 * key and value are written at the next free place whether kept or not): at a load near one
 * half, a branch per slot on whether it is empty is mispredicted about every other slot, and
 * with a seqlock per slot that made the scan cost three times this. Slots written meanwhile
 * are read as the loop left them; their pre-images override them (scanNumericTables).
 */
function readSlots(views: SlotViews, snapV: number, base: number, delta: boolean, at: number, track: boolean): Read {
  const { capacity, keys, values, stamps } = views;
  if (scratchKeys.length < capacity) {
    scratchKeys = new Float64Array(capacity);
    scratchValues = new Float64Array(capacity);
    scratchDeleted = new Float64Array(capacity);
    stampCopy = new Int32Array(capacity);
  }
  const st = stampCopy;
  st.set(stamps);
  const sk = scratchKeys;
  const sv = scratchValues;
  const sd = scratchDeleted;
  const ra = readAt;
  // Kept: stamps in [lo, lo + span), the versions [base, snapV) (an empty slot's 0 is below);
  // an even stamp is live, an odd one a tombstone (a deletion, in a delta).
  const lo = Math.max(base, 1) * 2;
  const hi = snapV * 2;
  const span = hi - lo;
  let n = 0;
  let d = 0;
  let since = 0;
  for (let s = 0; s < capacity; s++) {
    const x = st[s];
    since += (hi - 1 - x) >>> 31; // stamped since the barrier: x >= hi
    // 1 when 0 <= x - lo < span, from the sign bits (a comparison here compiles to a branch).
    const from = x - lo;
    const kept = ((from | (span - 1 - from)) >>> 31) ^ 1;
    const live = kept & ~x;
    const gone = delta ? kept & x : 0;
    const k = keys[s];
    sk[n] = k;
    sv[n] = values[s];
    sd[d] = k;
    if (track) ra[at + s] = (n << 2) | live | (gone << 1);
    n += live;
    d += gone;
  }
  // Room for the pre-images of the slots stamped since the barrier, which are added after.
  const room = track ? since : 0;
  return {
    keys: exactly(sk, n, room),
    values: exactly(sv, n, room),
    n,
    deleted: d + (delta ? room : 0) === 0 ? NONE : exactly(sd, d, delta ? room : 0),
    d,
  };
}

/**
 * Where the reads are kept until the scan's groups are packed (module state, one thread): a
 * full read of 2M keys is 64 MB of keys and values, which as new arrays each checkpoint cost
 * their zeroing, their page faults and the collector's work. Sized to the last scan's reads
 * (an eighth more) at the start of a scan; a scan that needs more takes new arrays for the
 * rest. Valid until the next scan begins.
 */
let arena = new Float64Array(0);
let arenaUsed = 0;
let lastScanNeeded = 0;
let scanNeeds = 0;
const ARENA_HEADROOM = 1.125;

function startArena(): void {
  if (arena.length < lastScanNeeded) arena = new Float64Array(Math.ceil(lastScanNeeded * ARENA_HEADROOM));
  arenaUsed = 0;
  scanNeeds = 0;
}

/** The first n elements of `a` in the arena (or an array of their own when it is full), with `room` more after them. */
function exactly(a: Float64Array, n: number, room: number): Float64Array {
  const size = n + room;
  scanNeeds += size;
  let out: Float64Array;
  if (arenaUsed + size <= arena.length) {
    out = arena.subarray(arenaUsed, arenaUsed + size);
    arenaUsed += size;
  } else out = new Float64Array(size);
  out.set(a.subarray(0, n));
  return out;
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
 * the scan read for its key (a value the loop may have changed after the stamps were copied),
 * and adds the entries the scan skipped because they were stamped since. The first pre-image
 * of a key wins (all of one key carry its barrier-time entry).
 *
 * The log is in the loop's order, spread over every table and group; it is sorted by buffer
 * first (a counting sort), so that each buffer's slots and reads are probed while they are in
 * cache and its additions are appended with one growth of its arrays.
 */
function applyPreImages(
  scan: NumericScan,
  views: (SlotViews | undefined)[][],
  reads: (Read | undefined)[][],
  offsets: number[][],
  base: number,
  delta: boolean,
): void {
  const v = preImageViews(scan.log!);
  try {
    // Every slot was read before the length is: an Atomics store orders the plain reads before
    // it (release) and the Atomics load after it. The loop appended and published the pre-image
    // of any slot it changed before it changed it (version-clock.ts), so a value read as
    // changed has its pre-image within `length`.
    Atomics.store(v.header, L_READ_FENCE, 1);
    const length = Atomics.load(v.header, L_LENGTH);
    if (length > 0) applyInOrder(byBuffer(scan, v, length, base, delta), scan.groupCount, views, reads, offsets, v);
  } finally {
    // The loop stops appending (and may reuse the log at its next barrier).
    Atomics.store(v.header, L_DONE, 1);
    Atomics.notify(v.header, L_DONE);
  }
}

/**
 * The pre-images that belong to this snapshot, by buffer (buffer b = position of its table in
 * the scan * groupCount + group index): entries order[starts[b], starts[b + 1]).
 */
function byBuffer(
  scan: NumericScan,
  v: PreImageViews,
  length: number,
  base: number,
  delta: boolean,
): { starts: Int32Array; order: Int32Array } {
  const { groupCount, snapV } = scan;
  let maxId = 0;
  for (const t of scan.tables) maxId = Math.max(maxId, t.id);
  const position = new Int32Array(maxId + 1).fill(-1);
  scan.tables.forEach((t, n) => (position[t.id] = n));
  const bufferOf = new Int32Array(length);
  const starts = new Int32Array(scan.tables.length * groupCount + 1);
  for (let i = 0; i < length; i++) {
    bufferOf[i] = -1;
    const stamp = v.stamps[i];
    const version = stampVersion(stamp);
    if (stamp === STAMP_EMPTY || version >= snapV || version < base || (isTombstone(stamp) && !delta)) continue;
    const table = Math.floor(v.ids[i] / groupCount);
    const n = table <= maxId ? position[table] : -1;
    if (n < 0) continue;
    const b = n * groupCount + (v.ids[i] % groupCount);
    bufferOf[i] = b;
    starts[b + 1]++;
  }
  for (let b = 1; b < starts.length; b++) starts[b] += starts[b - 1];
  const order = new Int32Array(starts[starts.length - 1]);
  const next = starts.slice(0, starts.length - 1);
  for (let i = 0; i < length; i++) if (bufferOf[i] >= 0) order[next[bufferOf[i]]++] = i;
  return { starts, order };
}

function applyInOrder(
  sorted: { starts: Int32Array; order: Int32Array },
  groupCount: number,
  views: (SlotViews | undefined)[][],
  reads: (Read | undefined)[][],
  offsets: number[][],
  v: PreImageViews,
): void {
  const { starts, order } = sorted;
  for (let b = 0; b + 1 < starts.length; b++) {
    const from = starts[b];
    const to = starts[b + 1];
    if (from === to) continue;
    const n = Math.floor(b / groupCount);
    const gi = b % groupCount;
    const table = views[n][gi];
    const read = reads[n][gi];
    if (table === undefined || read === undefined) continue;
    let live = 0;
    let gone = 0;
    // Overrides in place; the pre-images to add are kept in `order` (as ~i) for the second pass.
    for (let j = from; j < to; j++) {
      const i = order[j];
      const s = slotIn(table, v.keys[i]);
      if (s < 0) continue;
      const at = offsets[n][gi] + s;
      const r = readAt[at];
      if ((r & READ_LIVE) !== 0) read.values[r >>> 2] = v.values[i];
      else if ((r & READ_GONE) === 0) {
        readAt[at] = READ_GONE; // taken: later pre-images of this key are skipped
        order[j] = ~i;
        if (isTombstone(v.stamps[i])) gone++;
        else live++;
      }
      // (READ_GONE and not taken: a tombstone read by the scan, the same deletion.)
    }
    if (live + gone > 0) append(read, live, gone, order, from, to, v);
  }
}

/**
 * Appends a buffer's pre-images the scan had skipped (order[j] = ~i): into the room readSlots
 * left, one for every slot stamped since the barrier (so never more than that).
 */
function append(r: Read, live: number, gone: number, order: Int32Array, from: number, to: number, v: PreImageViews): void {
  if (r.n + live > r.keys.length) {
    const keys = new Float64Array(r.n + live);
    const values = new Float64Array(r.n + live);
    keys.set(r.keys.subarray(0, r.n));
    values.set(r.values.subarray(0, r.n));
    r.keys = keys;
    r.values = values;
  }
  if (r.d + gone > r.deleted.length) {
    const deleted = new Float64Array(r.d + gone);
    deleted.set(r.deleted.subarray(0, r.d));
    r.deleted = deleted;
  }
  for (let j = from; j < to; j++) {
    if (order[j] >= 0) continue;
    const i = ~order[j];
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

/**
 * The snapshot's numeric groups, by key group, in the shape the packer packs (captured-group.ts).
 * Their arrays are reused by the next scan: pack them first.
 */
export function scanNumericTables(scan: NumericScan): NumericGroup[] {
  startArena();
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
  if (scan.log !== undefined && readAt.length < total) readAt = new Int32Array(total);
  let reads: (Read | undefined)[][];
  try {
    reads = views.map((groups, n) =>
      groups.map((t, gi) => (t === undefined ? undefined : readSlots(t, scan.snapV, base, delta, offsets[n][gi], scan.log !== undefined))),
    );
  } catch (err) {
    if (scan.log !== undefined) releaseLog(scan.log);
    throw err;
  }
  lastScanNeeded = scanNeeds;
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
