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
import { isTombstone, slotViews, stampVersion, STAMP_EMPTY } from './numeric-slots.js';
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
 * One table's entries in this snapshot, in arrays of exactly their size: the reads go into
 * scratch arrays first, since only a full pass tells how many there are (a table at a load of
 * half or less would otherwise take three arrays of its capacity per table and key group,
 * about 190 MB per checkpoint at 2M keys).
 */
function readSlots(buffer: SharedArrayBuffer, snapV: number, base: number, delta: boolean): Read {
  const { capacity, keys, values, stamps } = slotViews(buffer);
  if (scratchKeys.length < capacity) {
    scratchKeys = new Float64Array(capacity);
    scratchValues = new Float64Array(capacity);
    scratchDeleted = new Float64Array(capacity);
  }
  const sk = scratchKeys;
  const sv = scratchValues;
  const sd = scratchDeleted;
  let n = 0;
  let d = 0;
  for (let s = 0; s < capacity; s++) {
    const before = Atomics.load(stamps, s);
    if (before === STAMP_EMPTY) continue;
    const version = stampVersion(before);
    if (version >= snapV || version < base) continue;
    const k = keys[s];
    const v = values[s];
    // Changed while read: its pre-image is in the log.
    if (Atomics.load(stamps, s) !== before) continue;
    if (!isTombstone(before)) {
      sk[n] = k;
      sv[n++] = v;
    } else if (delta) sd[d++] = k;
  }
  return { keys: sk.slice(0, n), values: sv.slice(0, n), n, deleted: d === 0 ? NONE : sd.slice(0, d), d };
}

/** Pre-images by id, first per key (all of one key carry its barrier-time entry): key → [stamp, value]. */
function readPreImages(log: SharedArrayBuffer): Map<number, Map<number, [number, number]>> {
  const v = preImageViews(log);
  const byId = new Map<number, Map<number, [number, number]>>();
  try {
    const length = Atomics.load(v.header, L_LENGTH);
    for (let i = 0; i < length; i++) {
      let m = byId.get(v.ids[i]);
      if (m === undefined) byId.set(v.ids[i], (m = new Map()));
      if (!m.has(v.keys[i])) m.set(v.keys[i], [v.stamps[i], v.values[i]]);
    }
  } finally {
    // The loop stops appending (and may reuse the log at its next barrier).
    Atomics.store(v.header, L_DONE, 1);
    Atomics.notify(v.header, L_DONE);
  }
  return byId;
}

/** Drops from `r` the keys `pre` holds, then adds pre's entries that belong in this snapshot. */
function applyPreImages(r: Read, pre: Map<number, [number, number]>, snapV: number, base: number, delta: boolean): Read {
  let w = 0;
  for (let i = 0; i < r.n; i++) {
    if (pre.has(r.keys[i])) continue;
    r.keys[w] = r.keys[i];
    r.values[w++] = r.values[i];
  }
  let wd = 0;
  for (let i = 0; i < r.d; i++) if (!pre.has(r.deleted[i])) r.deleted[wd++] = r.deleted[i];
  const out: Read = { keys: new Float64Array(w + pre.size), values: new Float64Array(w + pre.size), n: w, deleted: delta ? new Float64Array(wd + pre.size) : NONE, d: wd };
  out.keys.set(r.keys.subarray(0, w));
  out.values.set(r.values.subarray(0, w));
  out.deleted.set(r.deleted.subarray(0, wd));
  for (const [k, [stamp, value]] of pre) {
    const version = stampVersion(stamp);
    if (stamp === STAMP_EMPTY || version >= snapV || version < base) continue;
    if (!isTombstone(stamp)) {
      out.keys[out.n] = k;
      out.values[out.n++] = value;
    } else if (delta) out.deleted[out.d++] = k;
  }
  return out;
}

/** The snapshot's numeric groups, by key group, in the shape the packer packs (captured-group.ts). */
export function scanNumericTables(scan: NumericScan): NumericGroup[] {
  const delta = scan.base !== undefined;
  const base = scan.base ?? 0;
  let reads: (Read | undefined)[][];
  try {
    reads = scan.buffers.map((groups) => groups.map((b) => (b === undefined ? undefined : readSlots(b, scan.snapV, base, delta))));
  } catch (err) {
    // The loop must not wait for a reader that has given up.
    if (scan.log !== undefined) readPreImages(scan.log);
    throw err;
  }
  if (scan.log !== undefined) {
    const refOf = new Map(scan.tables.map((t, n) => [t.id, n]));
    for (const [id, pre] of readPreImages(scan.log)) {
      const n = refOf.get(Math.floor(id / scan.groupCount));
      if (n === undefined) continue;
      const gi = id % scan.groupCount;
      const r = reads[n][gi] ?? { keys: new Float64Array(0), values: new Float64Array(0), n: 0, deleted: new Float64Array(0), d: 0 };
      reads[n][gi] = applyPreImages(r, pre, scan.snapV, base, delta);
    }
  }
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
