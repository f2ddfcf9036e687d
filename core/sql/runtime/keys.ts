/** Keys and state options shared by the changelog operators. */
import type { StateOptions } from '../../contract/state.js';
import type { Row } from './changelog.js';

/**
 * keyBy refuses a null key (NULL_KEY), but SQL groups and partitions nulls together: a null key
 * stands as [null], which equals no scalar key.
 */
const NULL_KEY_STANDIN: readonly unknown[] = [null];

/** `key` as keyBy takes it: null and undefined become the stand-in above. */
export function keyForKeyBy(key: unknown): unknown {
  return key === null || key === undefined ? NULL_KEY_STANDIN : key;
}

/**
 * The key of a row by `columns`, for keyBy: the value itself for one column (cheaper to hash),
 * an array for several, 0 for none (one global group). undefined is folded into null.
 */
export function groupKeyOf(columns: readonly string[]): (row: Row) => unknown {
  if (columns.length === 0) return () => 0;
  if (columns.length === 1) {
    const c = columns[0];
    return (row) => keyForKeyBy(row[c]);
  }
  return (row) => columns.map((c) => row[c] ?? null);
}

/** Keyed state options of an idle-state TTL (refreshed on every write), or none. */
export function ttlOptions(ttlMs: number | undefined): StateOptions | undefined {
  return ttlMs === undefined ? undefined : { ttl: { ttlMs, update: 'onCreateAndWrite' } };
}

/** True if a join key is or contains null: it equals nothing, as `=` in SQL. */
export function keyHasNull(key: unknown): boolean {
  if (key === null || key === undefined) return true;
  if (Array.isArray(key)) for (const k of key) if (k === null || k === undefined) return true;
  return false;
}

/** The identity of a row's value, whatever the order of its columns: rows equal by value get the same id. */
export function rowId(row: Row): string {
  const keys = Object.keys(row).sort();
  let s = '';
  for (const k of keys) s += JSON.stringify(k) + ':' + JSON.stringify(row[k] ?? null) + ',';
  return s;
}
