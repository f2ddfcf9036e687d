/**
 * Keyed state in LMDB (one memory-mapped environment per operator subtask, in a local working
 * directory), behind a write-behind cache (slot-cache.ts):
 *
 * - The record loop reads and writes only the cache, so a hit costs about what the heap
 *   backend costs. A miss reads LMDB once and decodes only that one value; a key LMDB does not
 *   hold is cached as ABSENT.
 * - The cache has a budget in bytes, charged from measured sizes; over it, clean entries leave
 *   by CLOCK (least recently used, approximately), one at a time.
 * - Changed entries are written back in batches (write-back.ts) that lmdb-js commits on its own
 *   thread: in the background once they fill a quarter of the budget, and at a barrier whose
 *   snapshot is read from LMDB. An entry stays cached until the batch holding it has committed.
 * - A full snapshot while the cache holds every key is captured from the cache
 *   (cache-snapshot.ts) and writes nothing to LMDB. Otherwise the barrier encodes the changed
 *   entries into a batch at once (copy-on-write: what the record loop does afterwards does not
 *   touch them); the snapshot waits for that batch to commit, opens an LMDB read transaction
 *   right then (MVCC: exactly the barrier's state) and reads it off the record loop.
 * - At an incremental barrier with no write-back in flight, the changed entries go into the
 *   delta only and stay in the cache, HELD (pinned like dirty ones), until cache pressure
 *   writes them back: the barrier costs the loop O(changed) and LMDB (and lmdb-js's write
 *   thread) nothing. Numbers put under number keys were logged as they were written
 *   (number-log.ts), so the barrier only marks their slots HELD; other changes are read. With a write-back in flight the barrier writes back as a full one does
 *   (the delta then comes from that batch, see capture-log.ts).
 *
 * Local recovery (opt-in, as Flink's `state.backend.local-recovery`): every barrier writes back
 * and its batch names the checkpoint it is exactly at (a background batch of post-barrier state
 * names none). A task restarted in this process to restore that very checkpoint reopens the
 * environment as it is. Without it, a restart clears the environment and reads the checkpoint.
 *
 * In-place mutation: like Flink's RocksDB backend, a value changed in place without a put
 * (e.g. an object from value() mutated and not passed to update()) is not guaranteed to stay
 * changed: the cache may drop it.
 */
import { EddyError } from '../../failure.js';
import type { ChangedKeys } from '../change-log.js';
import { snapshotCache } from './cache-snapshot.js';
import { CaptureLog } from './capture-log.js';
import { mergeDeltas } from './delta-merge.js';
import { TTL_SWEEP_GROUPS, TTL_SWEEP_INTERVAL_MS, type KeyedBackend, type SnapshotJob } from '../keyed-backend.js';
import type { Clock } from '../ttl.js';
import { appendByPut, EntryMapStore, entryMapOf, registeredTable, storedKey, type StateKind } from '../keyed-store.js';
import { captureChanged, holdChanged, storedForm, type CaptureScope } from './barrier-capture.js';
import { encodeKey, encodeKeyCopy } from './key-codec.js';
import { DeltaCapture, LmdbSnapshotJob, type Guard, type SnapshotTtl } from './lmdb-snapshot.js';
import { ABSENT, SlotCache } from './slot-cache.js';
import { NumberLog } from './number-log.js';
import { giveChunks, LOG_MAX_TABLE } from '../heap/write-log.js';
import { META_CHECKPOINT, META_TABLES, NOT_AT_CHECKPOINT, StoreEnv, type RestoreOp, type StoreIdentity } from './store-env.js';
import { sweepGroup } from './ttl-sweep.js';
import { WriteBack, type Batch } from './write-back.js';
import { decodeValue, encodeValue } from './value-codec.js';

/**
 * A background write-back starts once the cache is this share short of its budget and changed
 * entries take at least this share of it (a cache with room to spare writes back only at barriers).
 */
const WRITE_BACK_SHARE = 0.25;

interface Table {
  name: string;
  kind: StateKind;
}

export interface LmdbStoreOptions extends StoreIdentity {
  /** Memory budget of the cache in bytes. */
  cacheBytes: number;
  /**
   * Local recovery (Flink's `state.backend.local-recovery`, off by default as there): every
   * barrier writes the changed entries back and names its checkpoint in the environment, so a
   * restart can reopen it. Off, a barrier writes LMDB only when its snapshot must be read
   * from LMDB (the cache no longer holds every key), and a restart always reads checkpoint storage.
   */
  localRecovery?: boolean;
  /** The checkpoint about to be restored: with local recovery, an environment exactly there is kept as it is. */
  resumeAt?: number;
}

export class LmdbKeyedStore extends EntryMapStore implements KeyedBackend, CaptureScope {
  readonly backend = 'lmdb';
  readonly rangeStart: number;
  readonly rangeEnd: number;
  /** True when the environment was kept at the restored checkpoint (nothing to read back). */
  readonly recoveredLocally: boolean;
  /** Write-backs captured so far, and those written synchronously for want of room (tests and metrics). */
  flushes = 0;
  syncFlushes = 0;
  /** Incremental barriers that wrote nothing to LMDB (their changes held in the cache). */
  heldBarriers = 0;
  private readonly store: StoreEnv;
  readonly tables: Table[] = [];
  private readonly byName = new Map<string, number>();
  readonly groupCount: number;
  readonly cache: SlotCache;
  private readonly writeBack: WriteBack;
  /**
   * Per key group: 1 when LMDB held keys of it before this store cached any (local recovery, a
   * restore). A miss needs an LMDB read only there or where a key left the cache
   * (cache.leftFrom): every other miss is a key never used, even if write-backs put the group
   * in LMDB since (the cache kept every key they wrote).
   */
  private readonly inLmdb: Uint8Array;
  /** Changes with every setCurrentKey: `cur` is the current key's slot while curEpoch equals it. */
  private epoch = 1;
  private cur = -1;
  private curEpoch = 0;
  private groupIndex = 0;
  private keyGroup = 0;
  private key: unknown = undefined;
  private stored: unknown = undefined;
  private changes: CaptureLog | undefined;
  /** Incremental without local recovery: the numbers written since the last barrier (number-log.ts). */
  private numbers: NumberLog | undefined;
  private closed = false;
  /** Per table: whether it is TTL state. */
  readonly ttlTables: boolean[] = [];
  private ttlClock: Clock | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private sweepCursor = 0;

  constructor(private readonly opts: LmdbStoreOptions) {
    super();
    this.rangeStart = opts.rangeStart;
    this.rangeEnd = opts.rangeEnd;
    this.groupCount = opts.rangeEnd - opts.rangeStart + 1;
    this.cache = new SlotCache(this.groupCount, opts.cacheBytes);
    this.inLmdb = new Uint8Array(this.groupCount);
    this.store = new StoreEnv(opts);
    this.writeBack = new WriteBack(this.store.env, META_CHECKPOINT, opts.cacheBytes, (b) => this.committed(b));
    const kept = this.store.reopenAt(opts.localRecovery === true ? opts.resumeAt : undefined);
    for (const [name, kind] of kept ?? []) this.addTable(name, kind);
    if (kept !== undefined) this.inLmdb.fill(1);
    this.recoveredLocally = kept !== undefined;
  }

  private guard<T>(what: string, fn: () => T): T {
    return this.store.guard(what, fn);
  }

  private failure(what: string, err: unknown): EddyError {
    return this.store.failure(what, err);
  }

  private get env() {
    return this.store.env;
  }

  private markerOf(id: number): Buffer {
    return this.store.markerOf(id);
  }

  private addTable(name: string, kind: StateKind): number {
    this.tables.push({ name, kind });
    this.cache.addTable();
    this.byName.set(name, this.tables.length - 1);
    return this.tables.length - 1;
  }

  register(name: string, kind: StateKind): number {
    const existing = registeredTable(this.byName, this.tables, name, kind);
    if (existing !== undefined) return existing;
    const id = this.addTable(name, kind);
    // Table ids are part of the LMDB keys: the mapping must survive for local recovery.
    const list = StoreEnv.tableList(this.tables);
    if (this.writeBack.pending === 0) this.store.writeTablesSync(list);
    else {
      // Behind the batches in flight, in their order (a synchronous write could overtake them).
      const notAt = this.markerOf(NOT_AT_CHECKPOINT);
      const batch = this.writeBack.newBatch(notAt, notAt);
      batch.add(META_TABLES, list);
      void this.writeBack.submit(batch, () => undefined).catch(() => undefined);
    }
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

  /** The current key's slot with table `t` loaded: cache, or (a miss) one LMDB read. */
  private slot(t: number): number {
    let s = this.cur;
    if (this.curEpoch !== this.epoch) {
      if (this.writeBack.failure !== undefined) throw this.failure('write', this.writeBack.failure);
      s = this.cache.find(this.groupIndex, this.stored);
      if (s < 0) {
        this.makeRoom(-1);
        s = this.cache.insert(this.groupIndex, this.stored);
      } else this.cache.ref[s] = 1;
      this.cur = s;
      this.curEpoch = this.epoch;
    }
    if (this.cache.values[t][s] === undefined) this.load(t, s);
    return s;
  }

  /** A cache miss of table t: one LMDB read, one value decoded. */
  private load(t: number, s: number): void {
    const bytes =
      (this.inLmdb[this.groupIndex] | this.cache.leftFrom[this.groupIndex]) === 0
        ? undefined
        : this.guard('read', () => this.env.getBinaryFast(encodeKey(this.keyGroup, t, this.stored)));
    if (bytes === undefined) {
      this.cache.setValue(t, s, ABSENT);
      return;
    }
    let v = decodeValue(bytes);
    if (this.tables[t].kind === 'map') v = entryMapOf(v as [unknown, unknown][]);
    this.cache.setValue(t, s, v, bytes.length);
    this.makeRoom(s);
  }

  /**
   * Keeps the cache within its budget: evicts clean entries, starts a background write-back once
   * changed ones take their share, and when nothing can leave and nothing is being written,
   * writes synchronously (the only time the record loop waits for LMDB).
   */
  private makeRoom(keep: number): void {
    const c = this.cache;
    // Written back early enough that clean entries are there to evict when the budget is reached.
    if (c.bytes > c.budget * (1 - WRITE_BACK_SHARE) && c.dirtyBytes > c.budget * WRITE_BACK_SHARE && this.writeBack.pending === 0) {
      // A failure is kept by the write-back and thrown on the record loop's next access.
      void this.flush(NOT_AT_CHECKPOINT).catch(() => undefined);
    }
    if (c.bytes <= c.budget || c.evict(0, keep)) return;
    if (this.writeBack.pending > 0) return; // over budget until the batch in flight commits
    this.flushSync();
    c.evict(0, keep);
  }

  entryCount(): number {
    return this.closed ? 0 : this.store.entryCount();
  }

  peek(table: number, keyGroup: number, key: unknown): unknown {
    this.checkGroup(keyGroup);
    const gi = keyGroup - this.rangeStart;
    const stored = storedKey(key);
    // The write-behind cache holds the newest value; LMDB only what was written back.
    const s = this.cache.find(gi, stored);
    const cached = s < 0 ? undefined : this.cache.values[table][s];
    if (cached !== undefined) return cached === ABSENT ? undefined : cached;
    if ((this.inLmdb[gi] | this.cache.leftFrom[gi]) === 0) return undefined;
    const bytes = this.guard('read', () => this.env.getBinary(encodeKey(keyGroup, table, stored)));
    if (bytes === undefined) return undefined;
    const v = decodeValue(bytes);
    return this.tables[table].kind === 'map' ? entryMapOf(v as [unknown, unknown][]) : v;
  }

  private markDirty(t: number, s: number): void {
    this.cache.markDirty(t, s);
  }

  private set(t: number, value: unknown): void {
    const s = this.slot(t);
    this.cache.setValue(t, s, value === undefined ? ABSENT : value);
    const log = this.numbers;
    // (A TTL table's values are wrapped, never numbers.)
    if (log !== undefined && typeof value === 'number' && typeof this.stored === 'number' && t <= LOG_MAX_TABLE) {
      log.add(t, this.groupIndex, this.stored, value);
      this.cache.markDirty(t, s, true);
    } else this.markDirty(t, s);
    // A larger value may take the cache over its budget.
    if (this.cache.bytes > this.cache.budget) this.makeRoom(s);
  }

  get(table: number): unknown {
    // slot() first: it may grow the cache, which replaces the value arrays.
    const s = this.slot(table);
    const v = this.cache.values[table][s];
    return v === ABSENT ? undefined : v;
  }

  put(table: number, value: unknown): void {
    this.set(table, value);
  }

  remove(table: number): void {
    this.set(table, ABSENT);
  }

  // LMDB stores a list as one value and its deltas hold whole values: an append is a put.
  appendTo(table: number, value: unknown): void {
    appendByPut(this, table, value);
  }

  protected entryMap(table: number, create: boolean): Map<unknown, unknown> | undefined {
    const s = this.slot(table);
    let v = this.cache.values[table][s];
    if (v === ABSENT) {
      if (!create) return undefined;
      v = new Map();
      this.cache.setValue(table, s, v);
    }
    if (create) this.markDirty(table, s);
    return v as Map<unknown, unknown>;
  }

  removeEntry(table: number, userKey: unknown): void {
    const m = this.entryMap(table, false);
    if (!m) return;
    m.delete(storedKey(userKey));
    if (m.size === 0) this.set(table, ABSENT);
    else this.markDirty(table, this.slot(table));
  }

  clearEntries(table: number): void {
    this.set(table, ABSENT);
  }

  tableDescriptors(): { name: string; kind: StateKind }[] {
    return this.tables.map((t) => ({ name: t.name, kind: t.kind }));
  }

  trackChanges(): CaptureLog {
    if (this.opts.localRecovery !== true) this.numbers ??= new NumberLog(() => this.cache.count);
    return (this.changes ??= new CaptureLog(this.groupCount));
  }

  /**
   * Encodes every changed or held entry into a batch ending with `marker` (barrier-capture.ts);
   * the entries stay cached until it commits.
   */
  private capture(marker: number, arena = false, delta?: DeltaCapture): Batch {
    const batch = this.writeBack.newBatch(this.markerOf(marker), this.markerOf(NOT_AT_CHECKPOINT), arena);
    captureChanged(this, batch, delta, marker === NOT_AT_CHECKPOINT ? this.changes : undefined);
    this.flushes++;
    return batch;
  }

  /** An incremental barrier with nothing in flight: the changes go into the delta and stay HELD in the cache. */
  private captureDelta(delta: DeltaCapture | undefined, logged = false): void {
    holdChanged(this, delta, logged);
    this.heldBarriers++;
  }

  /** Captures the changed entries and writes them back on lmdb-js's thread; `onCommit` runs once LMDB holds them. */
  private flush<T>(marker: number, onCommit: () => T = () => undefined as T, delta?: DeltaCapture): Promise<T> {
    const batch = this.capture(marker, false, delta);
    batch.charged = batch.bytes;
    this.cache.charge(batch.charged);
    return this.writeBack.submit(batch, onCommit);
  }

  /** A batch committed: its entries may leave the cache, and its arena is freed. */
  private committed(batch: Batch): void {
    this.cache.committed(batch.gen);
    this.cache.charge(-batch.charged);
  }

  /** Over budget with nothing clean and nothing in flight: the changed entries written here and now. */
  private flushSync(): void {
    const batch = this.capture(NOT_AT_CHECKPOINT, true);
    this.syncFlushes++;
    this.store.applySync(batch);
    this.cache.committed(batch.gen);
  }

  /**
   * Incremental (`delta` given, see capture-log.ts): the delta is collected while the barrier's
   * write-back is captured, plus the entries background write-backs took since the last barrier,
   * read in a read transaction opened when the barrier's write-back commits. Full (or a delta
   * the write-backs cannot give, returned as a full snapshot marked `rebased`): LMDB is scanned
   * in that read transaction. Either way the transaction sees exactly the barrier's state.
   */
  snapshot(id: number, delta: ChangedKeys | undefined): SnapshotJob {
    const ttl: SnapshotTtl = { tables: [...this.ttlTables], now: this.ttlClock?.() ?? 0 };
    const range = { start: this.rangeStart, end: this.rangeEnd };
    const guard: Guard = (what, fn) => this.guard(what, fn);
    const plan = delta !== undefined ? this.changes?.planDelta() : undefined;
    // The interval's numbers: of use only to a barrier that holds its changes.
    const logged = this.numbers?.take();
    const held =
      plan !== undefined && this.opts.localRecovery !== true && this.writeBack.pending === 0 && this.writeBack.failure === undefined;
    if (!held && logged !== undefined) giveChunks(logged);
    if (plan === undefined && this.cacheHoldsAll()) return this.snapshotFromCache(id, delta !== undefined, ttl);
    const capture = plan !== undefined ? new DeltaCapture(this.tables, range, ttl, delta!, held ? logged : undefined) : undefined;
    if (held) this.captureDelta(capture, logged !== undefined);
    // Held: LMDB holds everything written so far, and keys written back since the last barrier
    // and not changed since have their barrier-time value there, so a read transaction opened
    // now (before any later write-back can commit) is the barrier's.
    const txn = held
      ? Promise.resolve(this.guard('begin a snapshot', () => this.env.useReadTransaction()))
      : this.flush(id, () => this.guard('begin a snapshot', () => this.env.useReadTransaction()), capture).catch((err: unknown) => {
          throw this.failure('write', err);
        });
    if (capture === undefined) {
      this.changes?.took(id, undefined);
      return new LmdbSnapshotJob(this.env, txn, this.tableDescriptors(), range, delta !== undefined, ttl, guard);
    }
    const own = capture.run(this.env, txn, guard);
    // Only this barrier's changes: what a next delta merges while this one is unconfirmed.
    this.changes!.took(id, own);
    const result = plan!.merge === undefined ? own : Promise.all([plan!.merge, own]).then(([older, newer]) => mergeDeltas(older, newer));
    // Settled by the checkpointer through run(); a failure is that checkpoint's decline.
    result.catch(() => undefined);
    own.catch(() => undefined);
    return { run: () => result };
  }

  /** Whether every key with state is cached: no key left the cache and nothing was restored into LMDB behind it. */
  private cacheHoldsAll(): boolean {
    for (let gi = 0; gi < this.groupCount; gi++) if ((this.inLmdb[gi] | this.cache.leftFrom[gi]) !== 0) return false;
    return true;
  }

  /**
   * A full snapshot from the cache (cache-snapshot.ts) instead of a write-back and an LMDB scan:
   * LMDB is not written. Incremental: the changed entries are held (the next delta starts from
   * here). Full: they stay changed, written back under cache pressure like any others. With
   * local recovery the barrier still writes back and names its checkpoint, and the checkpoint
   * waits for that commit.
   */
  private snapshotFromCache(id: number, rebased: boolean, ttl: SnapshotTtl): SnapshotJob {
    const job = snapshotCache(
      {
        cache: this.cache,
        tables: this.tables,
        ttlTables: ttl.tables,
        now: ttl.now,
        storedForm: (t, v) => storedForm(this.tables[t].kind, v),
        range: { start: this.rangeStart, end: this.rangeEnd },
      },
      rebased,
    );
    this.changes?.took(id, undefined);
    if (this.opts.localRecovery !== true) {
      if (this.changes !== undefined) this.captureDelta(undefined);
      return job;
    }
    const written = this.flush(id).catch((err: unknown) => {
      throw this.failure('write', err);
    });
    written.catch(() => undefined);
    return { run: () => Promise.all([job.run(), written]).then(([snap]) => snap) };
  }

  beginRestore(): void {
    this.store.beginRestore();
  }

  restoreSet(table: number, keyGroup: number, stored: unknown, value: unknown): void {
    this.checkGroup(keyGroup);
    // Map state arrives as its stored form already: a list of [userKey, value] pairs.
    this.queueRestore([encodeKeyCopy(keyGroup, table, stored), Buffer.from(encodeValue(value))]);
  }

  restoreAppend(table: number, keyGroup: number, stored: unknown, elements: unknown[]): void {
    this.checkGroup(keyGroup);
    const key = encodeKeyCopy(keyGroup, table, stored);
    const bytes = this.store.restoredValue(key);
    const list = bytes === undefined ? elements : [...(decodeValue(bytes) as unknown[]), ...elements];
    this.queueRestore([key, Buffer.from(encodeValue(list))]);
  }

  restoreEntries(table: number, keyGroup: number, stored: unknown, puts: [unknown, unknown][], removed: unknown[]): void {
    this.checkGroup(keyGroup);
    const key = encodeKeyCopy(keyGroup, table, stored);
    const bytes = this.store.restoredValue(key);
    const m = entryMapOf(bytes === undefined ? [] : (decodeValue(bytes) as [unknown, unknown][]));
    for (const pair of puts) m.set(storedKey(pair[0]), pair);
    for (const u of removed) m.delete(u);
    this.queueRestore([key, m.size === 0 ? undefined : Buffer.from(encodeValue([...m.values()]))]);
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

  private queueRestore(op: RestoreOp): void {
    this.inLmdb[op[0].readUInt16BE(0) - this.rangeStart] = 1;
    this.store.queueRestore(op);
  }

  endRestore(): void {
    this.store.endRestore();
    this.cache.clear();
    this.epoch++;
    this.changes?.reset();
    this.numbers?.drop();
  }

  /** Resolves once no write-back is in flight (tests: a barrier then holds its changes). */
  writeBacksSettled(): Promise<void> {
    return this.writeBack.idle();
  }

  /** Writes every changed entry back and waits for the commit (tests). */
  async flushForTest(): Promise<void> {
    await this.flush(NOT_AT_CHECKPOINT);
  }

  /** Entries evicted so far (tests and metrics). */
  get evictions(): number {
    return this.cache.evictions;
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

  /** Removes expired TTL values of the next `groups` key groups (round robin, ttl-sweep.ts). */
  sweepExpired(groups: number): void {
    if (this.closed || this.store.restoring) return;
    const now = this.ttlClock!();
    for (let i = 0; i < groups; i++) {
      const gi = this.sweepCursor;
      this.sweepCursor = (gi + 1) % this.groupCount;
      sweepGroup(this, this.env, gi, now);
    }
    // The record loop's current slot stays valid (slots leave only in makeRoom, which spares it).
    this.makeRoom(this.curEpoch === this.epoch ? this.cur : -1);
  }

  async dispose(): Promise<void> {
    if (this.closed) return;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.closed = true;
    // lmdb-js holds the addresses of batches not yet committed: they must finish first.
    await this.writeBack.idle();
    await this.env.close();
  }
}
