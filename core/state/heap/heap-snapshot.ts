/**
 * Snapshots of the heap backend in the shared keyed format (../snapshot-format.ts): full, or a
 * delta of the keys changed since the base. Numeric tables are read from shared memory
 * (numeric-scan.ts: O(1) here at the barrier); Map tables are captured group by group below.
 * Restore goes through ../keyed-restore.ts.
 */
import type { AppendStarts, ChangedKeys, EntryChanges } from '../change-log.js';
import { yieldTurn, type SnapshotJob } from '../keyed-backend.js';
import type { StateKind } from '../keyed-store.js';
import {
  encodeKeyGroupChunk,
  encodeKeyGroupChunkInPlace,
  KeyedSnapshotWriter,
  type KeyGroupChunk,
  type KeyedSnapshot,
} from '../snapshot-format.js';
import { liveValue } from '../ttl.js';
import { floatsOf, GroupPacker, type CapturedGroup, type NumericGroup } from './captured-group.js';
import type { HeapKeyedStore } from './heap-keyed-store.js';
import { giveFloats, takeFloats } from './float-pool.js';
import { scanNumericTables } from './numeric-scan.js';
import { openPackerJob, type PackerJob } from './snapshot-packer.js';
import { holdEncodeArena, type ArenaEncoder } from './encode-arena.js';
import { pooledOutput } from './output-pool.js';
import type { LogChunk } from './write-log.js';

/**
 * Key groups with content captured per event-loop turn in the background. An empty group costs
 * a few Map lookups and takes no turn: a busy task gets a turn only between chunks of a frame,
 * and 128 groups, mostly empty, took 32 of them.
 */
const GROUPS_PER_TURN = 4;

/**
 * Below this many entries a snapshot is packed on the loop itself: a packer thread (its start,
 * its memory, two messages per group) is not worth it for small state.
 */
export const PACK_OFF_THREAD_MIN_ENTRIES = 20_000;

/**
 * The group in numeric form (captured-group.ts) when every key and value in it is a number and
 * no table is map or TTL state; else undefined (the caller encodes it). Same entries, same
 * order as encodeGroup.
 */
/** Where copyEntry writes (module state: forEach's callback is one function, not a closure per group). */
let copyKeys: Float64Array = new Float64Array(0);
let copyValues = copyKeys;
let copyAt = 0;
let copyAllNumbers = true;

function copyEntry(v: unknown, k: unknown): void {
  if (typeof k === 'number' && typeof v === 'number') {
    copyKeys[copyAt] = k;
    copyValues[copyAt++] = v;
  } else copyAllNumbers = false;
}

/**
 * Copies a group's keys and values into `keys` and `values` (its size each) in the Map's
 * order; false when a key or value is not a number. Map.forEach: measured at 2M entries, about
 * 2.5× faster than a keys() and a values() iterator, which were 25 % faster than [k, v] pairs.
 */
function copyNumbers(group: Map<unknown, unknown>, keys: Float64Array, values: Float64Array): boolean {
  copyKeys = keys;
  copyValues = values;
  copyAt = 0;
  copyAllNumbers = true;
  group.forEach(copyEntry);
  return copyAllNumbers;
}

/** How a group's chunk is encoded: into bytes of its own (to transfer), or a view (see encodeGroup). */
type ChunkEncoder = (keyGroup: number, chunk: KeyGroupChunk) => Uint8Array;

/** Per table id: read from shared memory by numeric-scan.ts, not captured here. */
type Scanned = readonly boolean[];

function captureNumeric(
  store: HeapKeyedStore,
  tableCount: number,
  scanned: Scanned,
  kg: number,
  delta: ChangedKeys | undefined,
): NumericGroup | 'empty' | undefined {
  const tables = store.tableDescriptors();
  const gi = kg - store.rangeStart;
  const g: NumericGroup = { kg, tables: [], keys: [], values: [], ...(delta !== undefined ? { deleted: [] } : {}) };
  for (let t = 0; t < tableCount; t++) {
    if (scanned[t]) continue;
    if (tables[t].kind === 'map' || store.ttlTables[t] === true) return undefined;
    const group = store.keyGroupTable(t, kg);
    if (delta === undefined) {
      if (group.size === 0) continue;
      const keys = takeFloats(group.size);
      const values = takeFloats(group.size);
      if (!copyNumbers(group, keys, values)) return undefined;
      g.keys.push(keys);
      g.values.push(values);
    } else {
      const changed = delta[t]?.[gi];
      if (changed === undefined || changed.size === 0) continue;
      const keys = takeFloats(changed.size);
      const values = takeFloats(changed.size);
      const gone = takeFloats(changed.size);
      let i = 0;
      let d = 0;
      for (const k of changed) {
        if (typeof k !== 'number') return undefined;
        const v = group.get(k);
        if (v === undefined) gone[d++] = k;
        else if (typeof v !== 'number') return undefined;
        else {
          keys[i] = k;
          values[i++] = v;
        }
      }
      g.keys.push(keys.subarray(0, i));
      g.values.push(values.subarray(0, i));
      g.deleted!.push(gone.subarray(0, d));
    }
    g.tables.push([tables[t].name, tables[t].kind]);
  }
  return g.tables.length === 0 ? 'empty' : g;
}

/** One key group fixed as it is now: numeric when it can be, else encoded; undefined when it holds nothing. */
function captureGroup(
  store: HeapKeyedStore,
  tableCount: number,
  scanned: Scanned,
  kg: number,
  delta: ChangedKeys | undefined,
  appends: AppendStarts | undefined,
  entryChanges: EntryChanges | undefined,
  now: number,
  encode: ChunkEncoder,
): CapturedGroup | undefined {
  const numeric = captureNumeric(store, tableCount, scanned, kg, delta);
  if (numeric === 'empty') return undefined;
  if (numeric !== undefined) return numeric;
  const bytes = encodeGroup(store, tableCount, scanned, kg, delta, appends, entryChanges, now, encode);
  return bytes === undefined ? undefined : { kg, bytes };
}

/** Entries a snapshot will hold, for choosing where to pack it. */
function entriesToSnapshot(store: HeapKeyedStore, tableCount: number, scanned: Scanned, delta: ChangedKeys | undefined): number {
  let n = store.numericEntryCount();
  for (let t = 0; t < tableCount; t++) {
    if (scanned[t]) continue;
    if (delta === undefined) for (let kg = store.rangeStart; kg <= store.rangeEnd; kg++) n += store.keyGroupTable(t, kg).size;
    else for (const keys of delta[t] ?? []) n += keys?.size ?? 0;
  }
  return n;
}

/**
 * One key group's chunk as it is now, or undefined when it holds nothing (for a delta:
 * nothing changed). Values are encoded at once, so the record loop may change them right after.
 * A delta holds a list only appended to since the base as its new elements, and a map changed
 * only entry by entry as those entries. `encode` gives bytes of the caller's own when they go to
 * another thread (encodeKeyGroupChunk); else a view of the encoder's buffer
 * (encodeKeyGroupChunkInPlace, or the arena's: encode-arena.ts), copied once, into the snapshot.
 */
function encodeGroup(
  store: HeapKeyedStore,
  tableCount: number,
  scanned: Scanned,
  kg: number,
  delta: ChangedKeys | undefined,
  appendStarts: AppendStarts | undefined,
  entryChanges: EntryChanges | undefined,
  now: number,
  encode: ChunkEncoder,
): Uint8Array | undefined {
  const tables = store.tableDescriptors();
  const gi = kg - store.rangeStart;
  const used: [string, StateKind][] = [];
  const entries: unknown[] = [];
  const deletions: unknown[] = [];
  const appends: unknown[] = [];
  const changedEntries: unknown[] = [];
  for (let t = 0; t < tableCount; t++) {
    if (scanned[t]) continue;
    const group = store.keyGroupTable(t, kg);
    const kind = tables[t].kind;
    const ttl = store.ttlTables[t] === true;
    const ref = used.length;
    let any = false;
    // Snapshot form of a stored value; expired TTL values count as absent.
    const form = (v: unknown): unknown => {
      if (v === undefined) return undefined;
      const s = kind === 'map' ? [...(v as Map<unknown, unknown>).values()] : v;
      return ttl ? liveValue(kind, s, now) : s;
    };
    if (delta === undefined) {
      for (const [k, v] of group) {
        const s = form(v);
        if (s === undefined) continue;
        entries.push(ref, k, s);
        any = true;
      }
    } else {
      const changed = delta[t]?.[gi];
      if (changed === undefined) continue;
      const appended = ttl ? undefined : appendStarts?.[t]?.[gi];
      const byEntry = ttl ? undefined : entryChanges?.[t]?.[gi];
      for (const k of changed) {
        const v = group.get(k);
        const start = appended?.get(k);
        const userKeys = byEntry?.get(k);
        // (From 0 the list is new since the base: set whole, as before.)
        if (start !== undefined && start > 0 && v !== undefined) appends.push(ref, k, (v as unknown[]).slice(start));
        else if (userKeys !== undefined && v !== undefined) {
          const m = v as Map<unknown, unknown>;
          const puts: unknown[] = [];
          const removed: unknown[] = [];
          for (const u of userKeys) {
            const pair = m.get(u);
            if (pair === undefined) removed.push(u);
            else puts.push(pair);
          }
          changedEntries.push(ref, k, puts, removed);
        } else {
          const s = form(v);
          if (s === undefined) deletions.push(ref, k);
          else entries.push(ref, k, s);
        }
        any = true;
      }
    }
    if (any) used.push([tables[t].name, tables[t].kind]);
  }
  if (used.length === 0) return undefined;
  if (delta === undefined) return encode(kg, { tables: used, entries });
  const chunk: KeyGroupChunk = { tables: used, entries, deletions };
  if (appends.length > 0) chunk.appends = appends;
  if (changedEntries.length > 0) chunk.entryChanges = changedEntries;
  return encode(kg, chunk);
}

/**
 * A snapshot fixed at the barrier and captured group by group: in the background, or at once
 * when the record loop is about to touch a group (the store calls captureGroup from
 * setCurrentKey while `pending[group] === 1`). Captured groups go to the packer thread as they
 * are taken when the snapshot is big (snapshot-packer.ts), else are packed here at the end.
 */
export class HeapSnapshotJob implements SnapshotJob {
  /** 1 = this group (index from rangeStart) is not captured yet. */
  readonly pending: Uint8Array;
  /** Where captured groups are packed: the packer thread (big snapshots) or here. */
  private readonly packer: PackerJob | GroupPacker;
  /** Tables registered after the barrier held nothing at the barrier. */
  private readonly tableCount: number;
  /** TTL expiry is judged at the barrier's time. */
  private readonly now: number;
  /** Per table id: numeric at the barrier, so read from shared memory (numeric-scan.ts) instead. */
  private readonly scanned: boolean[];
  /** The numeric tables' snapshot version, when the packer thread reads them while the loop writes. */
  private readonly concurrentScan: number | undefined;
  /** Where groups are encoded: bytes of their own for the packer thread; else views, into the arena when this job holds it. */
  private readonly encode: ChunkEncoder;
  private readonly arena: ArenaEncoder | undefined;

  constructor(
    private readonly store: HeapKeyedStore,
    id: number,
    private readonly delta: ChangedKeys | undefined,
    /** A delta's lists only appended to since its base (../change-log.ts). */
    private readonly appends: AppendStarts | undefined,
    /** A delta's maps changed only entry by entry since its base (../change-log.ts). */
    private readonly entryChanges: EntryChanges | undefined,
    /** A delta's write log since its base (write-log.ts), merged in by the packer. */
    log: readonly LogChunk[] | undefined,
    private readonly onDone: () => void,
  ) {
    const n = store.rangeEnd - store.rangeStart + 1;
    this.pending = new Uint8Array(n).fill(1);
    this.tableCount = store.tableDescriptors().length;
    this.now = store.ttlClock?.() ?? 0;
    const tables = store.tableDescriptors().map((t): [string, StateKind] => [t.name, t.kind]);
    const logged = log?.reduce((sum, c) => sum + c.length, 0) ?? 0;
    this.scanned = tables.map((_, t) => store.isNumeric(t));
    const offThread = entriesToSnapshot(store, this.tableCount, this.scanned, delta) + logged >= PACK_OFF_THREAD_MIN_ENTRIES;
    const packer = offThread ? openPackerJob(store.rangeStart, tables, log) : new GroupPacker(store.rangeStart, tables, log);
    this.packer = packer;
    this.arena = offThread ? undefined : holdEncodeArena();
    this.encode = offThread ? encodeKeyGroupChunk : (this.arena?.encode ?? encodeKeyGroupChunkInPlace);
    // Numeric tables: O(1) here; read by the packer while the loop writes, or right now when small.
    const scan = store.numericScan(id, delta !== undefined, offThread);
    if (scan !== undefined && packer instanceof GroupPacker) packer.addScanned(scanNumericTables(scan));
    else if (scan !== undefined) (packer as PackerJob).scan(scan);
    this.concurrentScan = scan !== undefined && offThread ? scan.snapV : undefined;
    // Nothing on Maps: no group to capture before the loop touches it.
    if (this.scanned.every((numeric) => numeric)) this.pending.fill(0);
  }

  /** Captures group `gi` (index from rangeStart); false when it held nothing to capture. */
  captureGroup(gi: number): boolean {
    this.pending[gi] = 0;
    const kg = this.store.rangeStart + gi;
    const g = captureGroup(
      this.store,
      this.tableCount,
      this.scanned,
      kg,
      this.delta,
      this.appends,
      this.entryChanges,
      this.now,
      this.encode,
    );
    if (g === undefined) return false;
    this.packer.add(g);
    // Packed here at once: its arrays are free again (a packer thread's come back when it replies).
    if (this.packer instanceof GroupPacker) giveFloats(floatsOf(g));
    return true;
  }

  finishNow(): void {
    for (let gi = 0; gi < this.pending.length; gi++) if (this.pending[gi] === 1) this.captureGroup(gi);
    this.onDone();
  }

  /** The packed snapshot: on the loop into a pooled buffer (output-pool.ts), copying the arena's chunks out; or the packer thread's. */
  private finishPacking(): KeyedSnapshot | Promise<KeyedSnapshot> {
    const keyGroups = { start: this.store.rangeStart, end: this.store.rangeEnd };
    if (!(this.packer instanceof GroupPacker)) return this.packer.finish(keyGroups);
    let release: (() => void) | undefined;
    try {
      const snap = this.packer.finish(keyGroups, (bytes) => {
        const out = pooledOutput(bytes);
        release = out.release;
        return out.data;
      });
      if (release !== undefined) snap.release = release;
      return snap;
    } finally {
      this.arena?.letGo();
    }
  }

  async run(): Promise<KeyedSnapshot> {
    let n = 0;
    try {
      for (let gi = 0; gi < this.pending.length; gi++) {
        if (this.pending[gi] !== 1 || !this.captureGroup(gi)) continue;
        if (++n % GROUPS_PER_TURN === 0) await yieldTurn();
      }
    } catch (err) {
      this.arena?.letGo();
      throw err;
    }
    this.onDone();
    const packed = this.finishPacking();
    const snapV = this.concurrentScan;
    if (snapV === undefined) return packed;
    const clock = this.store.clock;
    return Promise.resolve(packed).then(
      (snap) => {
        clock.endSnapshot(snapV, false);
        return snap;
      },
      (err: unknown) => {
        clock.endSnapshot(snapV, true);
        throw err;
      },
    );
  }
}

/** A full snapshot taken synchronously, all at once (tests, savepoint tools). */
export function snapshotKeyedStore(store: HeapKeyedStore): KeyedSnapshot {
  const writer = new KeyedSnapshotWriter();
  const tableCount = store.tableDescriptors().length;
  for (let kg = store.rangeStart; kg <= store.rangeEnd; kg++) {
    const bytes = encodeGroup(
      store,
      tableCount,
      [],
      kg,
      undefined,
      undefined,
      undefined,
      store.ttlClock?.() ?? 0,
      encodeKeyGroupChunkInPlace,
    );
    if (bytes !== undefined) writer.addEncoded(kg, bytes);
  }
  return writer.finish({ start: store.rangeStart, end: store.rangeEnd });
}

export { restoreKeyedStore } from '../keyed-restore.js';
