/**
 * What the checkpoint side needs from a keyed state backend (heap/ or lmdb/), beyond the
 * record loop's KeyedStateStore contract: snapshots that fix the state at the barrier and are
 * written afterwards off the record loop, full or as a delta, and a restore target that takes
 * the canonical format (snapshot-format.ts), so either backend restores the other's snapshots.
 */
import type { ChangedKeys, ChangeLog } from './change-log.js';
import type { KeyedStateStore, StateKind } from './keyed-store.js';
import type { KeyedSnapshot } from './snapshot-format.js';
import type { Clock } from './ttl.js';

/** How often a backend with TTL state sweeps, and how many key groups per sweep. */
export const TTL_SWEEP_INTERVAL_MS = 50;
export const TTL_SWEEP_GROUPS = 4;

export interface SnapshotJob {
  /**
   * Produces the snapshot's bytes. The state it holds is the state at the barrier whatever the
   * record loop did since; the work is spread over event-loop turns.
   */
  run(): Promise<KeyedSnapshot>;
}

export interface KeyedBackend extends KeyedStateStore {
  readonly backend: 'heap' | 'lmdb';
  readonly rangeStart: number;
  readonly rangeEnd: number;
  /** Registered tables in table-id order. */
  tableDescriptors(): { name: string; kind: StateKind }[];
  /** Starts recording changed keys (for incremental snapshots); idempotent. */
  trackChanges(): ChangeLog;
  /**
   * At the barrier, synchronously: fixes this moment's state. `delta` = the keys changed since
   * the base (a delta snapshot of just those, deletions included); undefined = full snapshot.
   */
  snapshot(id: number, delta: ChangedKeys | undefined): SnapshotJob;
  /** Restore: called between beginRestore and endRestore, values in snapshot form. */
  beginRestore(): void;
  restoreSet(table: number, keyGroup: number, stored: unknown, value: unknown): void;
  restoreDelete(table: number, keyGroup: number, stored: unknown): void;
  /** A delta's appended elements of a list (list state only): added after the list restored so far. */
  restoreAppend(table: number, keyGroup: number, stored: unknown, elements: unknown[]): void;
  /** A delta's changed entries of a map (map state only): `puts` set, the stored user keys `removed` deleted, on the map restored so far. */
  restoreEntries(table: number, keyGroup: number, stored: unknown, puts: [unknown, unknown][], removed: unknown[]): void;
  endRestore(): void;
  /**
   * Marks a table as TTL state (values stored as [expiresAt, value], see ttl.ts): snapshots
   * leave expired values out, and a background sweep removes them.
   */
  enableTtl(table: number, clock: Clock): void;
  /**
   * Reads `key`'s stored value in `table` without making it the current key (queryable state;
   * the record loop's current key and memo stay as they are). Map state: its entries as
   * stored. Undefined when the key has no value.
   */
  peek(table: number, keyGroup: number, key: unknown): unknown;
  /** Keys with state, summed over the tables (a metric; LMDB: what was flushed to it). */
  entryCount(): number;
  /** Releases files and handles; the store is unusable afterwards. */
  dispose(): Promise<void>;
}

/** Lets the event loop serve other work (control messages, I/O) between slices of a snapshot. */
export const yieldTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
