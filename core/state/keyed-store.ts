/**
 * The contract between keyed state handles (keyed-state.ts) and a state backend (heap/,
 * lmdb/). Every call is about the *current key*, which the operator sets once per record with
 * `setCurrentKey`; handles never see keys or key groups, so the same handle code runs on any
 * backend.
 */
import { EddyError } from '../failure.js';

export type StateKind = 'value' | 'list' | 'map' | 'reducing' | 'aggregating';

export interface KeyedStateStore {
  /** Registers (or finds) a named state; the number is the handle's table id. */
  register(name: string, kind: StateKind): number;
  setCurrentKey(key: unknown, keyGroup: number): void;
  readonly currentKey: unknown;
  /** The key group given with the current key (so nothing downstream hashes the key again). */
  readonly currentKeyGroup: number;

  get(table: number): unknown;
  put(table: number, value: unknown): void;
  remove(table: number): void;

  // list state: how a list changed, so an incremental snapshot can hold only what was appended
  /** Appends `value` to the current key's list (creating it). */
  appendTo(table: number, value: unknown): void;

  // map state: one entry per user key under the current key
  getEntry(table: number, userKey: unknown): unknown;
  putEntry(table: number, userKey: unknown, value: unknown): void;
  removeEntry(table: number, userKey: unknown): void;
  hasEntry(table: number, userKey: unknown): boolean;
  entries(table: number): [unknown, unknown][];
  clearEntries(table: number): void;
}

/**
 * appendTo for a store that writes whole values only (LMDB, TTL views): the list
 * read, changed and put back, as any other change.
 */
export function appendByPut(store: KeyedStateStore, table: number, value: unknown): void {
  const list = store.get(table) as unknown[] | undefined;
  if (list === undefined) return store.put(table, [value]);
  list.push(value);
  store.put(table, list);
}

/**
 * The id of the state `name` already registered in `byName`, or undefined if it is new. A
 * name registered as another kind is refused: its stored values have another shape.
 */
export function registeredTable(
  byName: ReadonlyMap<string, number>,
  tables: readonly { kind: StateKind }[],
  name: string,
  kind: StateKind,
): number | undefined {
  const existing = byName.get(name);
  if (existing === undefined) return undefined;
  const registered = tables[existing].kind;
  if (registered !== kind)
    throw new EddyError('STATE_FAILED', `state '${name}' is already registered as ${registered} state, not ${kind}; use another name`);
  return existing;
}

/**
 * Keys as stored: JS Maps compare objects by identity, so a composite (array or object) key is
 * stored by its JSON text; primitives are stored as they are.
 */
export function storedKey(key: unknown): unknown {
  if (typeof key !== 'object' || key === null) return key;
  return Array.isArray(key) ? arrayKeyText(key) : JSON.stringify(key);
}

/**
 * JSON.stringify of a composite key, written by hand when it holds only finite numbers (a SQL
 * GROUP BY of number columns, set as the current key per record): a number's JSON text is
 * its ECMAScript Number::toString, -0 included ("0"); JSON.stringify of an array costs about
 * ten times as much. Anything else goes to JSON.stringify, so the text is always the same.
 */
function arrayKeyText(key: readonly unknown[]): string {
  let s = '[';
  for (let i = 0; i < key.length; i++) {
    const v = key[i];
    if (typeof v !== 'number' || !Number.isFinite(v)) return JSON.stringify(key);
    s += i === 0 ? `${v}` : `,${v}`;
  }
  return `${s}]`;
}

/** Map state held in memory: stored user key → [userKey, value] (the pair keeps a composite user key as given). */
export function entryMapOf(pairs: readonly [unknown, unknown][]): Map<unknown, unknown> {
  const m = new Map<unknown, unknown>();
  for (const pair of pairs) m.set(storedKey(pair[0]), pair);
  return m;
}

/**
 * The map-state entry operations both backends share. Each backend finds (or creates) the
 * current key's entry map its own way, and decides what removing the last entry means.
 */
export abstract class EntryMapStore {
  /** The current key's entry map of `table`; with `create`, made if missing and marked changed. */
  protected abstract entryMap(table: number, create: boolean): Map<unknown, unknown> | undefined;

  getEntry(table: number, userKey: unknown): unknown {
    return this.entryMap(table, false)?.get(storedKey(userKey));
  }

  putEntry(table: number, userKey: unknown, value: unknown): void {
    // The user key is kept beside the value so keys() returns composite keys as given.
    this.entryMap(table, true)!.set(storedKey(userKey), [userKey, value]);
  }

  hasEntry(table: number, userKey: unknown): boolean {
    return this.entryMap(table, false)?.has(storedKey(userKey)) ?? false;
  }

  entries(table: number): [unknown, unknown][] {
    const m = this.entryMap(table, false);
    return m ? ([...m.values()] as [unknown, unknown][]) : [];
  }
}

/**
 * How many entries map table `name` holds under `reservedKey` over key groups `range`: operators
 * keep per-key-group bookkeeping (timers, due windows) under a reserved key of each group.
 */
export function reservedEntryCount(
  store: KeyedStateStore,
  name: string,
  reservedKey: string,
  range: { start: number; end: number },
): number {
  const table = store.register(name, 'map');
  let n = 0;
  for (let kg = range.start; kg <= range.end; kg++) {
    store.setCurrentKey(reservedKey, kg);
    n += store.entries(table).length;
  }
  return n;
}
