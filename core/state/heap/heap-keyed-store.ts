/**
 * Heap keyed state, organised by key group: every state table holds one table per key group of
 * this subtask's range, so a snapshot or a rescaled restore handles whole key groups without
 * looking at individual keys.
 *
 * Two forms of a table, chosen per table:
 * - Numeric (value, reducing and aggregating state while every stored key and value is a
 *   number: counts, sums, numeric ids): per group an open-addressing table in shared memory
 *   with a version per entry (numeric-slots.ts). A snapshot is O(1) at the barrier: the packer
 *   thread reads the tables while the loop writes on, and the loop copies an entry (a
 *   pre-image) only on its first write after the barrier, while the packer still reads —
 *   Flink's CopyOnWriteStateMap, per entry. Incremental snapshots need no write log for them:
 *   the versions say what changed since the base.
 * - Maps (everything else: list and map state, TTL state, a non-number key or value — a table
 *   that meets one moves to Maps once, for good). Snapshots copy on write by key group: the
 *   snapshot job captures groups in the background, and the first time the record loop
 *   touches a group the job has not captured yet (setCurrentKey), that group is captured right
 *   then. Values may be mutated in place by user code (a list pushed to), so capturing a whole
 *   group before its first touch is what keeps the snapshot exact. A Map can only be read on
 *   its own thread, which is why per-entry copy-on-write does not pay for Maps: every entry is
 *   read on the loop either way.
 */
import { EddyError } from '../../failure.js';
import type { ChangedKeys } from '../change-log.js';
import type { KeyedBackend, SnapshotJob } from '../keyed-backend.js';
import { EntryMapStore, entryMapOf, registeredTable, storedKey, type StateKind } from '../keyed-store.js';
import { TTL_SWEEP_GROUPS, TTL_SWEEP_INTERVAL_MS } from '../keyed-backend.js';
import { liveValue, type Clock } from '../ttl.js';
import { HeapSnapshotJob } from './heap-snapshot.js';
import { HeapChangeLog, LOG_MAX_TABLE } from './write-log.js';
import type { NumericScan } from './numeric-scan.js';
import { isNumericKey, NumericSlots } from './numeric-slots.js';
import { VersionClock } from './version-clock.js';

/** Whether value-like tables start numeric (EDDY_HEAP_NUMERIC=0: every table on Maps, as before). */
export const NUMERIC_TABLES_DEFAULT = process.env.EDDY_HEAP_NUMERIC !== '0';

const NUMERIC_KINDS: ReadonlySet<StateKind> = new Set<StateKind>(['value', 'reducing', 'aggregating']);

interface Table {
  name: string;
  kind: StateKind;
  /** groups[keyGroup - rangeStart]: stored key → value (map state: stored key → Map). */
  groups: Map<unknown, unknown>[];
  /** numeric[keyGroup - rangeStart] while the table is numeric; undefined once on Maps. */
  numeric: NumericSlots[] | undefined;
}

export class HeapKeyedStore extends EntryMapStore implements KeyedBackend {
  readonly backend = 'heap';
  private readonly tables: Table[] = [];
  private readonly byName = new Map<string, number>();
  private groupIndex = 0;
  private key: unknown = undefined;
  private stored: unknown = undefined;
  /** Whether the current stored key can be in a numeric table, and that key (-0 as 0). */
  private numKey = false;
  private numericKey = 0;
  /** Versions of the numeric tables' entries, their delta base, and the snapshot reading them. */
  readonly clock = new VersionClock();
  private changes: HeapChangeLog | undefined;
  /** The snapshot still encoding groups in the background, if any. */
  private snapshotting: HeapSnapshotJob | undefined;
  /** Per table: whether it is TTL state. */
  readonly ttlTables: boolean[] = [];
  ttlClock: Clock | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private sweepCursor = 0;

  constructor(
    readonly rangeStart: number,
    readonly rangeEnd: number,
    /** Value-like tables start numeric (they move to Maps on the first non-number). */
    private readonly numericTables = NUMERIC_TABLES_DEFAULT,
  ) {
    super();
  }

  register(name: string, kind: StateKind): number {
    const existing = registeredTable(this.byName, this.tables, name, kind);
    if (existing !== undefined) return existing;
    const groups: Map<unknown, unknown>[] = [];
    for (let g = this.rangeStart; g <= this.rangeEnd; g++) groups.push(new Map());
    const id = this.tables.length;
    const numeric =
      this.numericTables && NUMERIC_KINDS.has(kind)
        ? groups.map((_, gi) => new NumericSlots(id * groups.length + gi, this.clock))
        : undefined;
    this.tables.push({ name, kind, groups, numeric });
    this.byName.set(name, this.tables.length - 1);
    return this.tables.length - 1;
  }

  setCurrentKey(key: unknown, keyGroup: number): void {
    this.key = key;
    const stored = (this.stored = storedKey(key));
    this.numKey = isNumericKey(stored);
    if (this.numKey) this.numericKey = (stored as number) + 0;
    const gi = keyGroup - this.rangeStart;
    this.groupIndex = gi;
    this.beforeChange(gi);
  }

  /** Copy on write: a group the running snapshot has not captured yet is captured before it may change. */
  private beforeChange(gi: number): void {
    const job = this.snapshotting;
    if (job !== undefined && job.pending[gi] === 1) job.captureGroup(gi);
  }

  get currentKey(): unknown {
    return this.key;
  }

  get currentKeyGroup(): number {
    return this.rangeStart + this.groupIndex;
  }

  get(table: number): unknown {
    const t = this.tables[table];
    const numeric = t.numeric;
    if (numeric !== undefined) return this.numKey ? numeric[this.groupIndex].get(this.numericKey) : undefined;
    return t.groups[this.groupIndex].get(this.stored);
  }

  put(table: number, value: unknown): void {
    const numeric = this.tables[table].numeric;
    if (numeric !== undefined) {
      if (this.numKey && typeof value === 'number') return numeric[this.groupIndex].put(this.numericKey, value);
      this.toMaps(table);
    }
    const stored = this.stored;
    this.tables[table].groups[this.groupIndex].set(stored, value);
    const changes = this.changes;
    if (changes === undefined) return;
    // A number under a number key is appended to the write log; anything else is marked.
    if (typeof value === 'number' && typeof stored === 'number' && table <= LOG_MAX_TABLE)
      changes.log(table, this.groupIndex, stored, value);
    else changes.mark(table, this.groupIndex, stored);
  }

  remove(table: number): void {
    const numeric = this.tables[table].numeric;
    if (numeric !== undefined) {
      if (this.numKey) numeric[this.groupIndex].remove(this.numericKey);
      return;
    }
    this.tables[table].groups[this.groupIndex].delete(this.stored);
    if (this.changes !== undefined) this.changes.mark(table, this.groupIndex, this.stored);
  }

  appendTo(table: number, value: unknown): void {
    // List tables are never numeric (NUMERIC_KINDS).
    const group = this.tables[table].groups[this.groupIndex];
    const list = group.get(this.stored) as unknown[] | undefined;
    const length = list === undefined ? 0 : list.length;
    if (list === undefined) group.set(this.stored, [value]);
    else list.push(value);
    this.changes?.markAppend(table, this.groupIndex, this.stored, length);
  }

  /**
   * Moves a numeric table to Maps, for good. Its shared buffers are left as they are for a
   * snapshot still reading them; every key it held is marked changed, so the next delta has
   * whatever the versions would have told.
   */
  private toMaps(table: number): void {
    const t = this.tables[table];
    const numeric = t.numeric!;
    t.numeric = undefined;
    numeric.forEach((slots, gi) => {
      const group = t.groups[gi];
      slots.forEachLive((v, k) => group.set(k, v));
      const changes = this.changes;
      if (changes !== undefined) slots.forEachKey((k) => changes.mark(table, gi, k));
    });
  }

  /** Whether table `table` is numeric now (numeric-slots.ts). */
  isNumeric(table: number): boolean {
    return this.tables[table].numeric !== undefined;
  }

  /**
   * At a barrier: the numeric tables to read, with their buffers as they are now (no copy), and
   * the snapshot's version. `concurrent`: read on the packer thread while the loop writes on.
   */
  numericScan(id: number, delta: boolean, concurrent: boolean): NumericScan | undefined {
    const tables: NumericScan['tables'] = [];
    const buffers: NumericScan['buffers'] = [];
    const base = this.clock.confirmedVersion;
    let entries = 0;
    this.tables.forEach((t, tid) => {
      if (t.numeric === undefined) return;
      tables.push({ id: tid, name: t.name, kind: t.kind });
      // Nothing to read: a full snapshot of an empty table, a delta of one not written since its base.
      buffers.push(t.numeric.map((s) => ((delta ? s.written >= base : s.live > 0) ? s.buffer : undefined)));
      for (const s of t.numeric) entries += s.live;
    });
    const { snapV, log } = this.clock.beginSnapshot(entries, concurrent && tables.length > 0);
    this.clock.cut(id, snapV);
    if (tables.length === 0) return undefined;
    const groupCount = this.rangeEnd - this.rangeStart + 1;
    return { rangeStart: this.rangeStart, groupCount, tables, buffers, snapV, base: delta ? base : undefined, log };
  }

  protected entryMap(table: number, create: boolean): Map<unknown, unknown> | undefined {
    const group = this.tables[table].groups[this.groupIndex];
    let m = group.get(this.stored) as Map<unknown, unknown> | undefined;
    if (!m && create) {
      m = new Map();
      group.set(this.stored, m);
    }
    return m;
  }

  // Entry by entry in the change log: a delta holds the map's changed entries, not the whole map.
  override putEntry(table: number, userKey: unknown, value: unknown): void {
    const userStored = storedKey(userKey);
    this.entryMap(table, true)!.set(userStored, [userKey, value]);
    this.changes?.markEntry(table, this.groupIndex, this.stored, userStored);
  }

  removeEntry(table: number, userKey: unknown): void {
    const m = this.entryMap(table, false);
    if (!m) return;
    const userStored = storedKey(userKey);
    this.changes?.markEntry(table, this.groupIndex, this.stored, userStored);
    m.delete(userStored);
    if (m.size === 0) this.tables[table].groups[this.groupIndex].delete(this.stored);
  }

  clearEntries(table: number): void {
    this.remove(table);
  }

  trackChanges(): HeapChangeLog {
    if (this.changes === undefined) {
      this.changes = new HeapChangeLog(this.rangeEnd - this.rangeStart + 1, () => this.size());
      this.changes.onConfirm = (id) => this.clock.confirm(id);
      this.clock.trackDeltas();
    }
    return this.changes;
  }

  snapshot(id: number, delta: ChangedKeys | undefined): SnapshotJob {
    // One background snapshot at a time: a newer barrier finishes the older one first.
    this.snapshotting?.finishNow();
    // A delta also holds the write log of every generation since the base (cut just before).
    const cut = this.changes?.lastCut;
    if (delta !== undefined && cut !== undefined && cut.id !== id) {
      throw new EddyError('STATE_FAILED', `delta snapshot ${id} was not cut from this store's change log (its last cut is ${cut.id})`);
    }
    const log = delta !== undefined ? cut?.chunks : undefined;
    const appends = delta !== undefined ? this.changes?.lastAppends : undefined;
    const entries = delta !== undefined ? this.changes?.lastEntries : undefined;
    const job = new HeapSnapshotJob(this, id, delta, appends, entries, log, () => {
      if (this.snapshotting === job) this.snapshotting = undefined;
    });
    this.snapshotting = job;
    return job;
  }

  beginRestore(): void {}

  restoreSet(table: number, keyGroup: number, stored: unknown, value: unknown): void {
    const gi = this.groupIndexOf(keyGroup);
    const numeric = this.tables[table].numeric;
    if (numeric !== undefined) {
      if (isNumericKey(stored) && typeof value === 'number') return numeric[gi].put(stored + 0, value);
      this.toMaps(table);
    }
    const group = this.tables[table].groups[gi];
    group.set(stored, this.tables[table].kind === 'map' ? entryMapOf(value as [unknown, unknown][]) : value);
  }

  restoreAppend(table: number, keyGroup: number, stored: unknown, elements: unknown[]): void {
    const group = this.tables[table].groups[this.groupIndexOf(keyGroup)];
    // Restored lists are fresh arrays of the decoder: appended to in place.
    const list = group.get(stored) as unknown[] | undefined;
    if (list === undefined) group.set(stored, elements);
    else for (const e of elements) list.push(e);
  }

  restoreEntries(table: number, keyGroup: number, stored: unknown, puts: [unknown, unknown][], removed: unknown[]): void {
    const group = this.tables[table].groups[this.groupIndexOf(keyGroup)];
    let m = group.get(stored) as Map<unknown, unknown> | undefined;
    if (m === undefined) group.set(stored, (m = new Map()));
    for (const pair of puts) m.set(storedKey(pair[0]), pair);
    for (const u of removed) m.delete(u);
    if (m.size === 0) group.delete(stored);
  }

  restoreDelete(table: number, keyGroup: number, stored: unknown): void {
    const gi = this.groupIndexOf(keyGroup);
    const numeric = this.tables[table].numeric;
    if (numeric === undefined) this.tables[table].groups[gi].delete(stored);
    else if (isNumericKey(stored)) numeric[gi].remove(stored + 0);
  }

  endRestore(): void {
    this.changes?.reset();
    this.clock.restored();
  }

  enableTtl(table: number, clock: Clock): void {
    // TTL values are wrapped with their time: not numbers.
    if (this.tables[table].numeric !== undefined) this.toMaps(table);
    this.ttlTables[table] = true;
    this.ttlClock = clock;
    this.sweepTimer ??= setInterval(() => this.sweepExpired(TTL_SWEEP_GROUPS), TTL_SWEEP_INTERVAL_MS).unref();
  }

  /** Removes expired TTL values from the next `groups` key groups (round robin). */
  sweepExpired(groups: number): void {
    const now = this.ttlClock!();
    const n = this.rangeEnd - this.rangeStart + 1;
    for (let i = 0; i < groups; i++) {
      const gi = this.sweepCursor;
      this.sweepCursor = (gi + 1) % n;
      this.beforeChange(gi);
      this.tables.forEach((t, id) => {
        if (!this.ttlTables[id]) return;
        const group = t.groups[gi];
        for (const [k, v] of group) {
          const stored = t.kind === 'map' ? [...(v as Map<unknown, unknown>).values()] : v;
          const live = liveValue(t.kind, stored, now);
          if (live === stored) continue;
          if (live === undefined) group.delete(k);
          else group.set(k, entryMapOf(live as [unknown, unknown][]));
          this.changes?.mark(id, gi, k);
        }
      });
    }
  }

  async dispose(): Promise<void> {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.snapshotting?.finishNow();
  }

  /** Registered tables in table-id order (for snapshots). */
  tableDescriptors(): { name: string; kind: StateKind }[] {
    return this.tables.map((t) => ({ name: t.name, kind: t.kind }));
  }

  /**
   * The live contents of one table in one key group of this range: stored key → value (map
   * state: stored key → Map(stored user key → [userKey, value])). For snapshot and restore
   * only; a caller must not hold on to it, the record loop keeps changing it. A numeric
   * table's group comes as a copy.
   */
  keyGroupTable(table: number, keyGroup: number): Map<unknown, unknown> {
    const t = this.tables[table];
    const gi = this.groupIndexOf(keyGroup);
    if (t.numeric === undefined) return t.groups[gi];
    const copy = new Map<unknown, unknown>();
    t.numeric[gi].forEachLive((v, k) => copy.set(k, v));
    return copy;
  }

  private groupIndexOf(keyGroup: number): number {
    if (keyGroup < this.rangeStart || keyGroup > this.rangeEnd) {
      throw new EddyError('STATE_FAILED', `key group ${keyGroup} is outside this store's range [${this.rangeStart}, ${this.rangeEnd}]`);
    }
    return keyGroup - this.rangeStart;
  }

  peek(table: number, keyGroup: number, key: unknown): unknown {
    return this.keyGroupTable(table, keyGroup).get(storedKey(key));
  }

  entryCount(): number {
    return this.size();
  }

  /** Entries of the numeric tables. */
  numericEntryCount(): number {
    let n = 0;
    for (const t of this.tables) if (t.numeric !== undefined) for (const s of t.numeric) n += s.live;
    return n;
  }

  /** Number of keys across all tables (for tests and metrics). */
  size(): number {
    let n = 0;
    for (const t of this.tables) if (t.numeric === undefined) for (const g of t.groups) n += g.size;
    return n + this.numericEntryCount();
  }
}
