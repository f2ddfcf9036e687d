/**
 * Heap keyed state, organised by key group: every state table is an array with one Map per
 * key group of this subtask's range, so a snapshot or a rescaled restore handles whole key
 * groups without looking at individual keys.
 */
import { EddyError } from '../../failure.js';
import { storedKey, type KeyedStateStore, type StateKind } from '../keyed-store.js';

interface Table {
  name: string;
  kind: StateKind;
  /** groups[keyGroup - rangeStart]: stored key → value (map state: stored key → Map). */
  groups: Map<unknown, unknown>[];
}

export class HeapKeyedStore implements KeyedStateStore {
  private readonly tables: Table[] = [];
  private readonly byName = new Map<string, number>();
  private groupIndex = 0;
  private key: unknown = undefined;
  private stored: unknown = undefined;

  constructor(
    readonly rangeStart: number,
    readonly rangeEnd: number,
  ) {}

  register(name: string, kind: StateKind): number {
    const existing = this.byName.get(name);
    if (existing !== undefined) {
      const t = this.tables[existing];
      if (t.kind !== kind) {
        throw new EddyError('STATE_FAILED', `state '${name}' is already registered as ${t.kind} state, not ${kind}; use another name`);
      }
      return existing;
    }
    const groups: Map<unknown, unknown>[] = [];
    for (let g = this.rangeStart; g <= this.rangeEnd; g++) groups.push(new Map());
    this.tables.push({ name, kind, groups });
    this.byName.set(name, this.tables.length - 1);
    return this.tables.length - 1;
  }

  setCurrentKey(key: unknown, keyGroup: number): void {
    this.key = key;
    this.stored = storedKey(key);
    this.groupIndex = keyGroup - this.rangeStart;
  }

  get currentKey(): unknown {
    return this.key;
  }

  get(table: number): unknown {
    return this.tables[table].groups[this.groupIndex].get(this.stored);
  }

  put(table: number, value: unknown): void {
    this.tables[table].groups[this.groupIndex].set(this.stored, value);
  }

  remove(table: number): void {
    this.tables[table].groups[this.groupIndex].delete(this.stored);
  }

  private entryMap(table: number, create: boolean): Map<unknown, unknown> | undefined {
    const group = this.tables[table].groups[this.groupIndex];
    let m = group.get(this.stored) as Map<unknown, unknown> | undefined;
    if (!m && create) {
      m = new Map();
      group.set(this.stored, m);
    }
    return m;
  }

  getEntry(table: number, userKey: unknown): unknown {
    return this.entryMap(table, false)?.get(storedKey(userKey));
  }

  putEntry(table: number, userKey: unknown, value: unknown): void {
    // The user key is kept beside the value so keys() returns composite keys as given.
    this.entryMap(table, true)!.set(storedKey(userKey), [userKey, value]);
  }

  removeEntry(table: number, userKey: unknown): void {
    const m = this.entryMap(table, false);
    if (!m) return;
    m.delete(storedKey(userKey));
    if (m.size === 0) this.tables[table].groups[this.groupIndex].delete(this.stored);
  }

  hasEntry(table: number, userKey: unknown): boolean {
    return this.entryMap(table, false)?.has(storedKey(userKey)) ?? false;
  }

  entries(table: number): [unknown, unknown][] {
    const m = this.entryMap(table, false);
    return m ? ([...m.values()] as [unknown, unknown][]) : [];
  }

  clearEntries(table: number): void {
    this.tables[table].groups[this.groupIndex].delete(this.stored);
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

  /** Number of keys across all tables (for tests and metrics). */
  size(): number {
    let n = 0;
    for (const t of this.tables) for (const g of t.groups) n += g.size;
    return n;
  }
}
