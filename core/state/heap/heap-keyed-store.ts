/**
 * Heap keyed state, organised by key group: every state table is an array with one Map per
 * key group of this subtask's range, so a snapshot or a rescaled restore handles whole key
 * groups without looking at individual keys.
 *
 * Snapshots copy on write by key group: at the barrier nothing is copied; the snapshot job
 * captures groups in the background, and the first time the record loop touches a group the
 * job has not captured yet (setCurrentKey), that group is captured right then, before the
 * record can change it. Values may be mutated in place by user code (a list pushed to), so
 * capturing a whole group before its first touch is what keeps the snapshot exact. Numeric
 * groups are captured as typed arrays and packed on a packer thread (heap-snapshot.ts).
 *
 * (A copy on write per entry, Flink's CopyOnWriteStateMap, was tried and measured: with the
 * packing on the loop's own thread it only added a Map insert per touched entry, and with a
 * group's capture as cheap as a typed-array copy there is nothing left for it to save.)
 */
import { EddyError } from '../../failure.js';
import type { ChangedKeys } from '../change-log.js';
import type { KeyedBackend, SnapshotJob } from '../keyed-backend.js';
import { EntryMapStore, entryMapOf, registeredTable, storedKey, type StateKind } from '../keyed-store.js';
import { TTL_SWEEP_GROUPS, TTL_SWEEP_INTERVAL_MS } from '../keyed-backend.js';
import { liveValue, type Clock } from '../ttl.js';
import { HeapSnapshotJob } from './heap-snapshot.js';
import { HeapChangeLog, LOG_MAX_TABLE } from './write-log.js';

interface Table {
  name: string;
  kind: StateKind;
  /** groups[keyGroup - rangeStart]: stored key → value (map state: stored key → Map). */
  groups: Map<unknown, unknown>[];
}

export class HeapKeyedStore extends EntryMapStore implements KeyedBackend {
  readonly backend = 'heap';
  private readonly tables: Table[] = [];
  private readonly byName = new Map<string, number>();
  private groupIndex = 0;
  private key: unknown = undefined;
  private stored: unknown = undefined;
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
  ) {
    super();
  }

  register(name: string, kind: StateKind): number {
    const existing = registeredTable(this.byName, this.tables, name, kind);
    if (existing !== undefined) return existing;
    const groups: Map<unknown, unknown>[] = [];
    for (let g = this.rangeStart; g <= this.rangeEnd; g++) groups.push(new Map());
    this.tables.push({ name, kind, groups });
    this.byName.set(name, this.tables.length - 1);
    return this.tables.length - 1;
  }

  setCurrentKey(key: unknown, keyGroup: number): void {
    this.key = key;
    this.stored = storedKey(key);
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
    return this.tables[table].groups[this.groupIndex].get(this.stored);
  }

  put(table: number, value: unknown): void {
    const stored = this.stored;
    this.tables[table].groups[this.groupIndex].set(stored, value);
    const changes = this.changes;
    if (changes === undefined) return;
    // A number under a number key is appended to the write log; anything else is marked.
    if (typeof value === 'number' && typeof stored === 'number' && table <= LOG_MAX_TABLE) changes.log(table, this.groupIndex, stored, value);
    else changes.mark(table, this.groupIndex, stored);
  }

  remove(table: number): void {
    this.tables[table].groups[this.groupIndex].delete(this.stored);
    if (this.changes !== undefined) this.changes.mark(table, this.groupIndex, this.stored);
  }

  protected entryMap(table: number, create: boolean): Map<unknown, unknown> | undefined {
    const group = this.tables[table].groups[this.groupIndex];
    // Every caller that may create is about to change the entries.
    if (create && this.changes !== undefined) this.changes.mark(table, this.groupIndex, this.stored);
    let m = group.get(this.stored) as Map<unknown, unknown> | undefined;
    if (!m && create) {
      m = new Map();
      group.set(this.stored, m);
    }
    return m;
  }



  removeEntry(table: number, userKey: unknown): void {
    const m = this.entryMap(table, false);
    if (!m) return;
    if (this.changes !== undefined) this.changes.mark(table, this.groupIndex, this.stored);
    m.delete(storedKey(userKey));
    if (m.size === 0) this.tables[table].groups[this.groupIndex].delete(this.stored);
  }



  clearEntries(table: number): void {
    this.remove(table);
  }

  trackChanges(): HeapChangeLog {
    return (this.changes ??= new HeapChangeLog(this.rangeEnd - this.rangeStart + 1, () => this.size()));
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
    const job = new HeapSnapshotJob(this, delta, log, () => {
      if (this.snapshotting === job) this.snapshotting = undefined;
    });
    this.snapshotting = job;
    return job;
  }

  beginRestore(): void {}

  restoreSet(table: number, keyGroup: number, stored: unknown, value: unknown): void {
    const group = this.keyGroupTable(table, keyGroup);
    group.set(stored, this.tables[table].kind === 'map' ? entryMapOf(value as [unknown, unknown][]) : value);
  }

  restoreDelete(table: number, keyGroup: number, stored: unknown): void {
    this.keyGroupTable(table, keyGroup).delete(stored);
  }

  endRestore(): void {
    this.changes?.reset();
  }

  enableTtl(table: number, clock: Clock): void {
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
   * only; a caller must not hold on to it, the record loop keeps changing it.
   */
  keyGroupTable(table: number, keyGroup: number): Map<unknown, unknown> {
    if (keyGroup < this.rangeStart || keyGroup > this.rangeEnd) {
      throw new EddyError('STATE_FAILED', `key group ${keyGroup} is outside this store's range [${this.rangeStart}, ${this.rangeEnd}]`);
    }
    return this.tables[table].groups[keyGroup - this.rangeStart];
  }

  peek(table: number, keyGroup: number, key: unknown): unknown {
    return this.keyGroupTable(table, keyGroup).get(storedKey(key));
  }

  entryCount(): number {
    return this.size();
  }

  /** Number of keys across all tables (for tests and metrics). */
  size(): number {
    let n = 0;
    for (const t of this.tables) for (const g of t.groups) n += g.size;
    return n;
  }
}
