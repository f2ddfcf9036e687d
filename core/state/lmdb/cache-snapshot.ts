/**
 * A full snapshot of the LMDB backend taken from its cache, when the cache holds every key of
 * the subtask's state (no key ever left it, nothing was restored into LMDB behind it): then
 * LMDB holds nothing the cache does not, and scanning it would only read back, on the record
 * loop, what the cache has in memory.
 *
 * The capture is synchronous at the barrier, so it is the barrier's state whatever the loop
 * does next. Key groups whose keys and values are all numbers (no map or TTL table) are copied
 * into Float64Arrays and packed where the heap backend's are (the packer thread for big
 * snapshots, heap/snapshot-packer.ts); other groups are encoded here.
 */
import type { SnapshotJob } from '../keyed-backend.js';
import type { StateKind } from '../keyed-store.js';
import { encodeKeyGroupChunk, type KeyedSnapshot } from '../snapshot-format.js';
import { liveValue } from '../ttl.js';
import { GroupPacker, type NumericGroup } from '../heap/captured-group.js';
import { takeFloats } from '../heap/float-pool.js';
import { PACK_OFF_THREAD_MIN_ENTRIES } from '../heap/heap-snapshot.js';
import { openPackerJob } from '../heap/snapshot-packer.js';
import { ABSENT, type SlotCache } from './slot-cache.js';

export interface CacheView {
  cache: SlotCache;
  tables: { name: string; kind: StateKind }[];
  /** Per table: whether it is TTL state, and the barrier's time to judge expiry by. */
  ttlTables: boolean[];
  now: number;
  /** Map state: the cached Map as its stored list of entries. */
  storedForm(table: number, v: unknown): unknown;
  range: { start: number; end: number };
}

/** The keys of the group being captured and their slots (reused: a capture copies out of them). */
let groupKeys = new Float64Array(1024);
let groupSlots = new Int32Array(1024);

/** The group as Float64Arrays, or undefined when a key, value or table is not plain numbers. */
function captureNumeric(view: CacheView, gi: number, kg: number): NumericGroup | undefined {
  const { cache, tables } = view;
  const group = cache.groups[gi];
  for (let t = 0; t < tables.length; t++) if (tables[t].kind === 'map' || view.ttlTables[t] === true) return undefined;
  if (groupKeys.length < group.size) {
    groupKeys = new Float64Array(group.size * 2);
    groupSlots = new Int32Array(group.size * 2);
  }
  const count = group.numbersInto(groupKeys, groupSlots);
  if (count < 0) return undefined;
  const g: NumericGroup = { kg, tables: [], keys: [], values: [] };
  for (let t = 0; t < tables.length; t++) {
    const values = cache.values[t];
    const keys = takeFloats(count);
    const vals = takeFloats(count);
    let n = 0;
    for (let i = 0; i < count; i++) {
      const v = values[groupSlots[i]];
      if (v === undefined || v === ABSENT) continue;
      if (typeof v !== 'number') return undefined;
      keys[n] = groupKeys[i];
      vals[n++] = v;
    }
    if (n === 0) continue;
    g.tables.push([tables[t].name, tables[t].kind]);
    g.keys.push(keys.subarray(0, n));
    g.values.push(vals.subarray(0, n));
  }
  return g;
}

/** The group's chunk encoded here (any value form), or undefined when it holds nothing. */
function encodeGroup(view: CacheView, gi: number, kg: number): Uint8Array | undefined {
  const { cache, tables } = view;
  const used: [string, StateKind][] = [];
  const entries: unknown[] = [];
  for (let t = 0; t < tables.length; t++) {
    const ref = used.length;
    let any = false;
    cache.groups[gi].forEach((k, s) => {
      const v = cache.values[t][s];
      if (v === undefined || v === ABSENT) return;
      const stored = view.storedForm(t, v);
      const live = view.ttlTables[t] === true ? liveValue(tables[t].kind, stored, view.now) : stored;
      if (live === undefined) return;
      entries.push(ref, k, live);
      any = true;
    });
    if (any) used.push([tables[t].name, tables[t].kind]);
  }
  return used.length === 0 ? undefined : encodeKeyGroupChunk(kg, { tables: used, entries });
}

/** Captures the whole cache now; the job packs it (off the loop when it is big). */
export function snapshotCache(view: CacheView, rebased: boolean): SnapshotJob {
  const { cache, range } = view;
  const descriptors = view.tables.map((t): [string, StateKind] => [t.name, t.kind]);
  const packer =
    cache.count * view.tables.length >= PACK_OFF_THREAD_MIN_ENTRIES
      ? openPackerJob(range.start, descriptors, undefined)
      : new GroupPacker(range.start, descriptors, undefined);
  for (let gi = 0; gi <= range.end - range.start; gi++) {
    if (cache.groups[gi].size === 0) continue;
    const kg = range.start + gi;
    const numeric = captureNumeric(view, gi, kg);
    if (numeric !== undefined) {
      if (numeric.tables.length > 0) packer.add(numeric);
      continue;
    }
    const bytes = encodeGroup(view, gi, kg);
    if (bytes !== undefined) packer.add({ kg, bytes });
  }
  const done = Promise.resolve(packer.finish(range)).then((snap: KeyedSnapshot) => {
    if (rebased) snap.rebased = true;
    return snap;
  });
  done.catch(() => undefined);
  return { run: () => done };
}
