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
import { storedKey, type StateKind } from '../keyed-store.js';
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

interface Table {
  name: string;
  kind: StateKind;
  /** groups[keyGroup - rangeStart]: stored key → value | ABSENT (map state: → Map). */
  groups: Map<unknown, unknown>[];
  /** dirty[keyGroup - rangeStart]: stored keys changed since the last flush. */
  dirty: (Set<unknown> | undefined)[];
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

export class LmdbKeyedStore implements KeyedBackend {
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
    this.rangeStart = opts.rangeStart;
    this.rangeEnd = opts.rangeEnd;
    this.groupCount = opts.rangeEnd - opts.rangeStart + 1;
    this.maxEntries = Math.max(64, Math.floor(opts.cacheBytes / CACHE_ENTRY_BYTES));
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
    const groups: Map<unknown, unknown>[] = [];
    for (let g = 0; g < this.groupCount; g++) groups.push(new Map());
    this.tables.push({ name, kind, groups, dirty: new Array(this.groupCount).fill(undefined) });
    this.byName.set(name, this.tables.length - 1);
    return this.tables.length - 1;
  }

  register(name: string, kind: StateKind): number {
    const existing = this.byName.get(name);
    if (existing !== undefined) {
      const t = this.tables[existing];
      if (t.kind !== kind) {
        throw new EddyError('STATE_FAILED', `state '${name}' is already registered as ${t.kind} state, not ${kind}; use another name`);
      }
      return existing;
    }
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
  }

  get currentKey(): unknown {
    return this.key;
  }

  /** A cache miss: one LMDB read, one value decoded. */
  private load(t: number, m: Map<unknown, unknown>): unknown {
    if (this.cached >= this.maxEntries) this.evict();
    const bytes = this.guard('read', () => this.env.getBinaryFast(encodeKey(this.keyGroup, t, this.stored)));
    let v: unknown = ABSENT;
    if (bytes !== undefined) {
      v = decodeValue(bytes);
      if (this.tables[t].kind === 'map') {
        const entries = new Map<unknown, unknown>();
        for (const pair of v as [unknown, unknown][]) entries.set(storedKey(pair[0]), pair);
        v = entries;
      }
    }
    m.set(this.stored, v);
    this.cached++;
    return v;
  }

  private markDirty(t: number): void {
    const table = this.tables[t];
    let d = table.dirty[this.groupIndex];
    if (d === undefined) d = table.dirty[this.groupIndex] = new Set();
    d.add(this.stored);
    if (this.changes !== undefined) this.changes.mark(t, this.groupIndex, this.stored);
  }

  private set(t: number, value: unknown): void {
    const m = this.tables[t].groups[this.groupIndex];
    const before = m.size;
    m.set(this.stored, value);
    this.markDirty(t);
    if (m.size !== before && ++this.cached > this.maxEntries) this.evict();
  }

  get(table: number): unknown {
    const m = this.tables[table].groups[this.groupIndex];
    let v = m.get(this.stored);
    if (v === undefined) v = this.load(table, m);
    return v === ABSENT ? undefined : v;
  }

  put(table: number, value: unknown): void {
    this.set(table, value);
  }

  remove(table: number): void {
    this.set(table, ABSENT);
  }

  private entryMap(table: number, create: boolean): Map<unknown, unknown> | undefined {
    const m = this.tables[table].groups[this.groupIndex];
    let e = m.get(this.stored);
    if (e === undefined) e = this.load(table, m);
    if (e === ABSENT) {
      if (!create) return undefined;
      e = new Map();
      m.set(this.stored, e);
    }
    if (create) this.markDirty(table);
    return e as Map<unknown, unknown>;
  }

  getEntry(table: number, userKey: unknown): unknown {
    return this.entryMap(table, false)?.get(storedKey(userKey));
  }

  putEntry(table: number, userKey: unknown, value: unknown): void {
    this.entryMap(table, true)!.set(storedKey(userKey), [userKey, value]);
  }

  removeEntry(table: number, userKey: unknown): void {
    const m = this.entryMap(table, false);
    if (!m) return;
    m.delete(storedKey(userKey));
    if (m.size === 0) this.set(table, ABSENT);
    else this.markDirty(table);
  }

  hasEntry(table: number, userKey: unknown): boolean {
    return this.entryMap(table, false)?.has(storedKey(userKey)) ?? false;
  }

  entries(table: number): [unknown, unknown][] {
    const m = this.entryMap(table, false);
    return m ? ([...m.values()] as [unknown, unknown][]) : [];
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
        if (d === undefined || d.size === 0) continue;
        const batch: [Buffer, unknown][] = [];
        for (const k of d) batch.push([encodeKeyCopy(this.rangeStart + gi, t, k), table.groups[gi].get(k)]);
        batch.sort((a, b) => Buffer.compare(a[0], b[0]));
        for (const op of batch) ops.push(op);
        table.dirty[gi] = undefined;
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
    for (const t of this.tables) for (const m of t.groups) m.clear();
    this.cached = 0;
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
        const drop = (k: unknown) => {
          const before = m.size;
          m.set(k, ABSENT);
          if (m.size !== before) this.cached++;
          let d = t.dirty[gi];
          if (d === undefined) d = t.dirty[gi] = new Set();
          d.add(k);
          this.changes?.mark(id, gi, k);
        };
        for (const [k, v] of m) {
          if (v === ABSENT) continue;
          const stored = t.kind === 'map' ? [...(v as Map<unknown, unknown>).values()] : v;
          const live = liveValue(t.kind, stored, now);
          if (live === undefined) drop(k);
          else if (live !== stored) {
            for (const [sk, pair] of v as Map<unknown, [unknown, [number, unknown]]>) if (pair[1][0] <= now) (v as Map<unknown, unknown>).delete(sk);
            t.dirty[gi] ??= new Set();
            t.dirty[gi]!.add(k);
            this.changes?.mark(id, gi, k);
          }
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
        for (const [k, live] of expired) {
          if (live === undefined) {
            drop(k);
            continue;
          }
          // A map value with some entries expired: the rest goes back through the cache.
          const entries = new Map<unknown, unknown>();
          for (const pair of live as [unknown, unknown][]) entries.set(storedKey(pair[0]), pair);
          drop(k);
          m.set(k, entries);
        }
      });
    }
    if (this.cached > this.maxEntries) this.evict();
  }

  async dispose(): Promise<void> {
    if (this.closed) return;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.closed = true;
    await this.env.close();
  }
}
