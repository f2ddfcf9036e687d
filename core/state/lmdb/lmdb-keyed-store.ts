/**
 * Keyed state in LMDB (one memory-mapped environment per operator subtask, in a local working
 * directory), behind a write-behind cache:
 *
 * - The record loop reads and writes only the cache, organised like the heap backend (one Map
 *   per table and key group), so a hit costs what the heap backend costs. A miss reads LMDB
 *   once and decodes only that one value; a key LMDB does not hold is cached as ABSENT.
 * - Changed keys are marked dirty and written in sorted batches (key group, table, key order,
 *   the order of the LMDB keys, see key-codec.ts): at every barrier, and when the cache
 *   outgrows its budget, after which half of every cache map (its oldest entries) is dropped.
 * - A snapshot flushes the dirty entries and then reads an LMDB read transaction (MVCC: the
 *   state of the barrier however much the record loop writes afterwards) off the record loop.
 *
 * Local recovery: every flush also records in the environment the checkpoint it is exactly at
 * (the barrier's id, or none after an eviction flush wrote post-barrier state). A task
 * restarted in this process to restore that very checkpoint reopens the environment as it is.
 *
 * In-place mutation: like Flink's RocksDB backend, a value changed in place without a put
 * (e.g. an object from value() mutated and not passed to update()) is not guaranteed to stay
 * changed: the cache may drop it.
 */
import { open, type RootDatabase } from 'lmdb';
import { Packr, Unpackr } from 'msgpackr';
import { EddyError } from '../../failure.js';
import { ChangeLog, type ChangedKeys } from '../change-log.js';
import { TTL_SWEEP_GROUPS, TTL_SWEEP_INTERVAL_MS, type KeyedBackend, type SnapshotJob } from '../keyed-backend.js';
import { liveValue, type Clock } from '../ttl.js';
import { EntryMapStore, entryMapOf, registeredTable, storedKey, type StateKind } from '../keyed-store.js';
import { decodeKey, encodeKey, encodeKeyCopy, metaKey, tablePrefix } from './key-codec.js';
import { LmdbSnapshotJob } from './lmdb-snapshot.js';

/** A key known not to be in LMDB (so a second read of it does not go there again). */
const ABSENT = Symbol('absent');
/**
 * Estimated heap bytes of one cached entry (Map slot, key, small value); the budget in bytes
 * becomes a number of entries with it. Values much larger than this make the estimate low.
 */
export const CACHE_ENTRY_BYTES = 160;

/** Writes per LMDB transaction, flushing and restoring (bounds LMDB's dirty-page memory). */
const FLUSH_TXN_OPS = 4096;
const RESTORE_BATCH = FLUSH_TXN_OPS;
const META_TABLES = metaKey('tables');
const META_CHECKPOINT = metaKey('checkpoint');
/** Keys in the environment that are not state (the two above). */
const META_KEYS = 2;
/** The checkpoint marker of an environment holding state newer than any barrier. */
const NOT_AT_CHECKPOINT = -1;

// Plain msgpack without record structures: each value decodes on its own.
const packr = new Packr({ useRecords: false, useBigIntExtension: true });
const unpackr = new Unpackr({ useRecords: false, useBigIntExtension: true });

export function encodeValue(value: unknown): Buffer {
  return packr.pack(value);
}

export function decodeValue(bytes: Uint8Array): unknown {
  return unpackr.unpack(bytes);
}

/**
 * One cached key of one table: its value (ABSENT: not in LMDB; map state: a Map), and whether
 * it changed since the last flush. A mutable slot costs one allocation per cached key, and
 * lets a put after a get of the same record skip the hash lookup (see `memo`).
 */
interface Slot {
  v: unknown;
  dirty: boolean;
}

interface Table {
  name: string;
  kind: StateKind;
  /** groups[keyGroup - rangeStart]: stored key → slot. */
  groups: Map<unknown, Slot>[];
  /** dirty[keyGroup - rangeStart]: stored keys whose slot turned dirty since the last flush. */
  dirty: (unknown[] | undefined)[];
  /** The current key's slot, valid while memoEpoch equals the store's epoch. */
  memo: Slot | undefined;
  memoEpoch: number;
}

interface Marker {
  id: number;
  start: number;
  end: number;
}

export interface LmdbStoreOptions {
  /** Directory of this subtask's environment (created if missing). */
  path: string;
  rangeStart: number;
  rangeEnd: number;
  /** Memory budget of the cache in bytes. */
  cacheBytes: number;
  operatorUid: string;
  subtask: number;
  /** The checkpoint about to be restored: an environment exactly there is kept as it is. */
  resumeAt?: number;
}

export class LmdbKeyedStore extends EntryMapStore implements KeyedBackend {
  readonly backend = 'lmdb';
  readonly rangeStart: number;
  readonly rangeEnd: number;
  /** True when the environment was kept at the restored checkpoint (nothing to read back). */
  readonly recoveredLocally: boolean;
  /** Flushes and evictions so far (tests and metrics). */
  flushes = 0;
  evictions = 0;
  private readonly env: RootDatabase<Buffer, Buffer>;
  private readonly tables: Table[] = [];
  private readonly byName = new Map<string, number>();
  private readonly maxEntries: number;
  private readonly groupCount: number;
  private cached = 0;
  /**
   * Per key group: 1 once LMDB may hold keys of it. A miss in a group LMDB holds nothing of
   * (a fresh start: every key is new) needs no LMDB read.
   */
  private readonly inLmdb: Uint8Array;
  /** Changes with every setCurrentKey and eviction: invalidates every table's memo. */
  private epoch = 1;
  private groupIndex = 0;
  private keyGroup = 0;
  private key: unknown = undefined;
  private stored: unknown = undefined;
  private changes: ChangeLog | undefined;
  private restoreOps: [Buffer, Buffer | undefined][] | undefined;
  private closed = false;
  /** Per table: whether it is TTL state. */
  private readonly ttlTables: boolean[] = [];
  private ttlClock: Clock | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private sweepCursor = 0;

  constructor(private readonly opts: LmdbStoreOptions) {
    super();
    this.rangeStart = opts.rangeStart;
    this.rangeEnd = opts.rangeEnd;
    this.groupCount = opts.rangeEnd - opts.rangeStart + 1;
    this.maxEntries = Math.max(64, Math.floor(opts.cacheBytes / CACHE_ENTRY_BYTES));
    this.inLmdb = new Uint8Array(this.groupCount);
    let recovered = false;
    this.env = this.guard('open', () => open<Buffer, Buffer>({ path: opts.path, keyEncoding: 'binary', encoding: 'binary', noSync: true }));
    this.guard('open', () => {
      const marker = this.readMeta<Marker>(META_CHECKPOINT);
      if (
        opts.resumeAt !== undefined &&
        marker !== undefined &&
        marker.id === opts.resumeAt &&
        marker.start === opts.rangeStart &&
        marker.end === opts.rangeEnd
      ) {
        for (const [name, kind] of this.readMeta<[string, StateKind][]>(META_TABLES) ?? []) this.addTable(name, kind);
        recovered = true;
        this.inLmdb.fill(1);
      } else {
        // Whatever an earlier attempt left is not this task's state.
        this.env.clearSync();
      }
    });
    this.recoveredLocally = recovered;
  }

  /** Runs an LMDB operation; its failure becomes a STATE_FAILED naming the operator and subtask. */
  private guard<T>(what: string, fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      if (err instanceof EddyError) throw err;
      const msg = err instanceof Error ? err.message : String(err);
      throw new EddyError(
        'STATE_FAILED',
        `LMDB state of operator '${this.opts.operatorUid}' subtask ${this.opts.subtask} (${this.opts.path}) failed to ${what}: ${msg}` +
          (/MDB_MAP_FULL|ENOSPC|No space/i.test(msg) ? '; free disk space or point --local-dir at a larger disk' : ''),
        { operatorUid: this.opts.operatorUid, subtask: this.opts.subtask, cause: msg },
      );
    }
  }

  private readMeta<T>(key: Buffer): T | undefined {
    const b = this.env.getBinary(key);
    return b === undefined ? undefined : (JSON.parse(b.toString('utf8')) as T);
  }

  private addTable(name: string, kind: StateKind): number {
    const groups: Map<unknown, Slot>[] = [];
    for (let g = 0; g < this.groupCount; g++) groups.push(new Map());
    this.tables.push({ name, kind, groups, dirty: new Array(this.groupCount).fill(undefined), memo: undefined, memoEpoch: 0 });
    this.byName.set(name, this.tables.length - 1);
    return this.tables.length - 1;
  }

  register(name: string, kind: StateKind): number {
    const existing = registeredTable(this.byName, this.tables, name, kind);
    if (existing !== undefined) return existing;
    const id = this.addTable(name, kind);
    // Table ids are part of the LMDB keys: the mapping must survive for local recovery.
    const list = JSON.stringify(this.tables.map((t) => [t.name, t.kind]));
    this.guard('register state', () => this.env.transactionSync(() => this.env.putSync(META_TABLES, Buffer.from(list, 'utf8'))));
    return id;
  }

  setCurrentKey(key: unknown, keyGroup: number): void {
    this.key = key;
    this.stored = storedKey(key);
    this.keyGroup = keyGroup;
    this.groupIndex = keyGroup - this.rangeStart;
    this.epoch++;
  }

  get currentKeyGroup(): number {
    return this.keyGroup;
  }

  get currentKey(): unknown {
    return this.key;
  }

  /** The current key's slot in table `t`: memo, cache, or (a miss) one LMDB read. */
  private slot(t: number): Slot {
    const table = this.tables[t];
    if (table.memoEpoch === this.epoch) return table.memo!;
    const m = table.groups[this.groupIndex];
    let slot = m.get(this.stored);
    if (slot === undefined) slot = this.load(t, m);
    table.memo = slot;
    table.memoEpoch = this.epoch;
    return slot;
  }

  /** A cache miss: one LMDB read, one value decoded. */
  private load(t: number, m: Map<unknown, Slot>): Slot {
    if (this.cached >= this.maxEntries) this.evict();
    const bytes =
      this.inLmdb[this.groupIndex] === 0 ? undefined : this.guard('read', () => this.env.getBinaryFast(encodeKey(this.keyGroup, t, this.stored)));
    let v: unknown = ABSENT;
    if (bytes !== undefined) {
      v = decodeValue(bytes);
      if (this.tables[t].kind === 'map') v = entryMapOf(v as [unknown, unknown][]);
    }
    const slot: Slot = { v, dirty: false };
    m.set(this.stored, slot);
    this.cached++;
    return slot;
  }

  entryCount(): number {
    if (this.closed) return 0;
    // The environment's entries less its meta keys (checkpoint marker, table list).
    return Math.max(0, (this.env.getStats() as { entryCount: number }).entryCount - META_KEYS);
  }

  peek(table: number, keyGroup: number, key: unknown): unknown {
    this.checkGroup(keyGroup);
    const gi = keyGroup - this.rangeStart;
    const stored = storedKey(key);
    // The write-behind cache holds the newest value; LMDB only what was flushed.
    const slot = this.tables[table].groups[gi].get(stored);
    if (slot !== undefined) return slot.v === ABSENT ? undefined : slot.v;
    if (this.inLmdb[gi] === 0) return undefined;
    const bytes = this.guard('read', () => this.env.getBinary(encodeKey(keyGroup, table, stored)));
    if (bytes === undefined) return undefined;
    const v = decodeValue(bytes);
    return this.tables[table].kind === 'map' ? entryMapOf(v as [unknown, unknown][]) : v;
  }

  private markDirty(t: number, slot: Slot, gi: number, stored: unknown): void {
    if (!slot.dirty) {
      slot.dirty = true;
      const table = this.tables[t];
      (table.dirty[gi] ??= []).push(stored);
    }
    if (this.changes !== undefined) this.changes.mark(t, gi, stored);
  }

  private set(t: number, value: unknown): void {
    const slot = this.slot(t);
    slot.v = value;
    this.markDirty(t, slot, this.groupIndex, this.stored);
  }

  get(table: number): unknown {
    const v = this.slot(table).v;
    return v === ABSENT ? undefined : v;
  }

  put(table: number, value: unknown): void {
    this.set(table, value);
  }

  remove(table: number): void {
    this.set(table, ABSENT);
  }

  protected entryMap(table: number, create: boolean): Map<unknown, unknown> | undefined {
    const slot = this.slot(table);
    if (slot.v === ABSENT) {
      if (!create) return undefined;
      slot.v = new Map();
    }
    if (create) this.markDirty(table, slot, this.groupIndex, this.stored);
    return slot.v as Map<unknown, unknown>;
  }



  removeEntry(table: number, userKey: unknown): void {
    const m = this.entryMap(table, false);
    if (!m) return;
    m.delete(storedKey(userKey));
    if (m.size === 0) this.set(table, ABSENT);
    else this.markDirty(table, this.slot(table), this.groupIndex, this.stored);
  }



  clearEntries(table: number): void {
    this.set(table, ABSENT);
  }

  tableDescriptors(): { name: string; kind: StateKind }[] {
    return this.tables.map((t) => ({ name: t.name, kind: t.kind }));
  }

  trackChanges(): ChangeLog {
    return (this.changes ??= new ChangeLog(this.groupCount));
  }

  /**
   * Writes every dirty entry to LMDB in one transaction, in key order, and records which
   * checkpoint the environment is then exactly at.
   */
  private flush(marker: number): void {
    const ops: [Buffer, unknown][] = [];
    for (let gi = 0; gi < this.groupCount; gi++) {
      for (let t = 0; t < this.tables.length; t++) {
        const table = this.tables[t];
        const d = table.dirty[gi];
        if (d === undefined || d.length === 0) continue;
        const batch: [Buffer, unknown][] = [];
        for (const k of d) {
          // Dirty slots are never evicted (eviction flushes first), so the slot is there.
          const slot = table.groups[gi].get(k)!;
          slot.dirty = false;
          batch.push([encodeKeyCopy(this.rangeStart + gi, t, k), slot.v]);
        }
        batch.sort((a, b) => Buffer.compare(a[0], b[0]));
        for (const op of batch) ops.push(op);
        table.dirty[gi] = undefined;
        this.inLmdb[gi] = 1;
      }
    }
    // An eviction with nothing dirty leaves the environment where it was.
    if (ops.length === 0 && marker === NOT_AT_CHECKPOINT) return;
    const markerOf = (id: number) => Buffer.from(JSON.stringify({ id, start: this.rangeStart, end: this.rangeEnd } satisfies Marker), 'utf8');
    // Several bounded transactions: LMDB holds every page a transaction dirties in memory
    // until it commits, and scattered keys dirty about one page each. The first one says "not
    // at a checkpoint", the last one names the barrier, so a flush cut short is never mistaken
    // for a checkpoint's state.
    for (let from = 0; from === 0 || from < ops.length; from += FLUSH_TXN_OPS) {
      const last = from + FLUSH_TXN_OPS >= ops.length;
      this.guard('write', () =>
        this.env.transactionSync(() => {
          if (from === 0 && !last) this.env.putSync(META_CHECKPOINT, markerOf(NOT_AT_CHECKPOINT));
          for (let i = from; i < ops.length && i < from + FLUSH_TXN_OPS; i++) {
            const [key, v] = ops[i];
            if (v === ABSENT || v === undefined) this.env.removeSync(key);
            else this.env.putSync(key, encodeValue(v instanceof Map ? [...v.values()] : v));
          }
          if (last) this.env.putSync(META_CHECKPOINT, markerOf(marker));
        }),
      );
    }
    this.flushes++;
  }

  /** Over budget: flush, then drop the older half of every cache map. */
  private evict(): void {
    this.flush(NOT_AT_CHECKPOINT);
    let dropped = 0;
    for (const t of this.tables) {
      for (const m of t.groups) {
        let n = (m.size + 1) >> 1;
        for (const k of m.keys()) {
          if (n-- <= 0) break;
          m.delete(k);
          dropped++;
        }
      }
    }
    this.cached -= dropped;
    this.evictions++;
    this.epoch++;
  }

  snapshot(id: number, delta: ChangedKeys | undefined): SnapshotJob {
    this.flush(id);
    const txn = this.guard('begin a snapshot', () => this.env.useReadTransaction());
    const ttl = { tables: [...this.ttlTables], now: this.ttlClock?.() ?? 0 };
    return new LmdbSnapshotJob(this.env, txn, this.tableDescriptors(), this.rangeStart, this.rangeEnd, delta, ttl, (what, fn) => this.guard(what, fn));
  }

  beginRestore(): void {
    this.restoreOps = [];
  }

  restoreSet(table: number, keyGroup: number, stored: unknown, value: unknown): void {
    this.checkGroup(keyGroup);
    // Map state arrives as its stored form already: a list of [userKey, value] pairs.
    this.queueRestore([encodeKeyCopy(keyGroup, table, stored), Buffer.from(encodeValue(value))]);
  }

  restoreDelete(table: number, keyGroup: number, stored: unknown): void {
    this.checkGroup(keyGroup);
    this.queueRestore([encodeKeyCopy(keyGroup, table, stored), undefined]);
  }

  private checkGroup(keyGroup: number): void {
    if (keyGroup < this.rangeStart || keyGroup > this.rangeEnd) {
      throw new EddyError('STATE_FAILED', `key group ${keyGroup} is outside this store's range [${this.rangeStart}, ${this.rangeEnd}]`);
    }
  }

  private queueRestore(op: [Buffer, Buffer | undefined]): void {
    this.inLmdb[op[0].readUInt16BE(0) - this.rangeStart] = 1;
    this.restoreOps!.push(op);
    if (this.restoreOps!.length >= RESTORE_BATCH) this.writeRestoreOps();
  }

  private writeRestoreOps(): void {
    const ops = this.restoreOps!;
    this.restoreOps = [];
    this.guard('restore', () =>
      this.env.transactionSync(() => {
        for (const [k, v] of ops) {
          if (v === undefined) this.env.removeSync(k);
          else this.env.putSync(k, v);
        }
        this.env.putSync(META_CHECKPOINT, Buffer.from(JSON.stringify({ id: NOT_AT_CHECKPOINT, start: this.rangeStart, end: this.rangeEnd })));
      }),
    );
  }

  endRestore(): void {
    if (this.restoreOps && this.restoreOps.length > 0) this.writeRestoreOps();
    this.restoreOps = undefined;
    for (const t of this.tables) {
      for (const m of t.groups) m.clear();
      t.dirty.fill(undefined);
    }
    this.cached = 0;
    this.epoch++;
    this.changes?.reset();
  }

  /** Entries in LMDB plus dirty ones not yet flushed (tests). */
  flushForTest(): void {
    this.flush(NOT_AT_CHECKPOINT);
  }

  enableTtl(table: number, clock: Clock): void {
    this.ttlTables[table] = true;
    this.ttlClock = clock;
    this.sweepTimer ??= setInterval(() => {
      try {
        this.sweepExpired(TTL_SWEEP_GROUPS);
      } catch {
        // A failing LMDB shows up on the record loop's next access or flush, with its cause.
      }
    }, TTL_SWEEP_INTERVAL_MS).unref();
  }

  /**
   * Removes expired TTL values of the next `groups` key groups (round robin): from the cache,
   * and from LMDB by caching them as removed and dirty (written by the next flush).
   */
  sweepExpired(groups: number): void {
    if (this.closed || this.restoreOps !== undefined) return;
    const now = this.ttlClock!();
    for (let i = 0; i < groups; i++) {
      const gi = this.sweepCursor;
      this.sweepCursor = (gi + 1) % this.groupCount;
      const kg = this.rangeStart + gi;
      this.tables.forEach((t, id) => {
        if (!this.ttlTables[id]) return;
        const m = t.groups[gi];
        /** Puts `v` (ABSENT or what is left of a map) in the key's slot, dirty. */
        const replace = (k: unknown, v: unknown) => {
          let slot = m.get(k);
          if (slot === undefined) {
            m.set(k, (slot = { v, dirty: false }));
            this.cached++;
          }
          slot.v = v;
          this.markDirty(id, slot, gi, k);
        };
        for (const [k, slot] of m) {
          if (slot.v === ABSENT) continue;
          const stored = t.kind === 'map' ? [...(slot.v as Map<unknown, unknown>).values()] : slot.v;
          const live = liveValue(t.kind, stored, now);
          if (live === undefined) replace(k, ABSENT);
          else if (live !== stored) replace(k, entryMapOf(live as [unknown, unknown][]));
        }
        // Values only in LMDB: decoded here, off the record path.
        const range = this.env.getRange({ start: tablePrefix(kg, id), end: tablePrefix(kg, id + 1) });
        const expired: [unknown, unknown][] = [];
        for (const { key, value } of range as Iterable<{ key: Buffer; value: Buffer }>) {
          const { stored } = decodeKey(key);
          if (m.has(stored)) continue;
          const v = decodeValue(value);
          const live = liveValue(t.kind, v, now);
          if (live !== v) expired.push([stored, live]);
        }
        for (const [k, live] of expired) replace(k, live === undefined ? ABSENT : entryMapOf(live as [unknown, unknown][]));
      });
    }
    // The record loop's memo may point at a slot just changed here: it stays valid (same
    // slot), but a fresh lookup costs nothing and keeps the reasoning simple.
    this.epoch++;
    if (this.cached > this.maxEntries) this.evict();
  }

  async dispose(): Promise<void> {
    if (this.closed) return;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.closed = true;
    await this.env.close();
  }
}
