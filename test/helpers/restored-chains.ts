/**
 * Restores one subtask's keyed snapshot chain where an incremental delta must restore the same:
 * into the heap, into the heap at parallelism 2 (each new subtask takes its key groups from the
 * one old chain) and into LMDB. The delta-model tests (list and map state) compare each reading
 * with their own model.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { keyGroupRange } from '../../core/state/key-groups.js';
import { HeapKeyedStore } from '../../core/state/heap/heap-keyed-store.js';
import type { KeyedBackend } from '../../core/state/keyed-backend.js';
import { LmdbKeyedStore } from '../../core/state/lmdb/lmdb-keyed-store.js';
import { restoreKeyedChains, type KeyedSnapshot } from '../../core/state/snapshot.js';

/** A factory of fresh LMDB stores in one temporary folder, removed after the file's tests. */
export function lmdbStores(uid: string): (start: number, end: number) => LmdbKeyedStore {
  const root = mkdtempSync(join(tmpdir(), `eddy-${uid}-`));
  after(() => rmSync(root, { recursive: true, force: true }));
  let seq = 0;
  return (start, end) =>
    new LmdbKeyedStore({
      path: join(root, `env-${++seq}`),
      rangeStart: start,
      rangeEnd: end,
      cacheBytes: 1 << 20,
      operatorUid: uid,
      subtask: 0,
    });
}

export interface Restored<T> {
  heap: T;
  /** The two subtasks' readings at parallelism 2. */
  halves: [T, T];
  lmdb: T;
  /** The LMDB store the chain was restored into (disposed by the caller). */
  db: LmdbKeyedStore;
}

/** `chain` restored in the three places, each read with `read`. */
export function restoredEverywhere<T>(
  chain: KeyedSnapshot[],
  maxParallelism: number,
  read: (store: KeyedBackend) => T,
  lmdb: (start: number, end: number) => LmdbKeyedStore,
): Restored<T> {
  const heap = new HeapKeyedStore(0, maxParallelism - 1);
  restoreKeyedChains(heap, [chain]);
  const halves = [0, 1].map((i) => {
    const r = keyGroupRange(i, maxParallelism, 2);
    const s = new HeapKeyedStore(r.start, r.end);
    restoreKeyedChains(s, [chain]);
    return read(s);
  }) as [T, T];
  const db = lmdb(0, maxParallelism - 1);
  restoreKeyedChains(db, [chain]);
  return { heap: read(heap), halves, lmdb: read(db), db };
}
