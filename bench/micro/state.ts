/**
 * Keyed state get and update (read-modify-write, as a count does) per backend, through the
 * KeyedStateStore contract the handles use. Keys and their key groups are computed before
 * the run: the figure is the backend's, not the hash's. One task call is OPS operations.
 *
 * LMDB twice: with the default cache (all 10k keys cached: the write-behind cache's cost) and
 * with a cache of about 1% of the keys (nearly every get reads and decodes from LMDB, and
 * updates are flushed in batches as the cache fills).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HeapKeyedStore } from '../../core/state/heap/heap-keyed-store.js';
import { DEFAULT_STATE_CACHE_MB } from '../../core/state/lmdb/cache-budget.js';
import { LmdbKeyedStore } from '../../core/state/lmdb/lmdb-keyed-store.js';
import { bytesPerKey } from '../../core/state/lmdb/cache-charges.js';
import { DEFAULT_MAX_PARALLELISM, keyGroupFor } from '../../core/state/key-groups.js';
import type { KeyedStateStore } from '../../core/state/keyed-store.js';
import { runGroup, type MicroRow } from './tiny.js';

export interface StateBackendUnderTest {
  name: string;
  /** A store owning every key group 0..maxParallelism-1; `dir` is an empty directory it may use. */
  open(
    dir: string,
    maxParallelism: number,
  ): Promise<{ store: KeyedStateStore; close(): Promise<void> | void }> | { store: KeyedStateStore; close(): Promise<void> | void };
}

export const STATE_BACKENDS: StateBackendUnderTest[] = [
  { name: 'heap', open: (_dir, maxP) => ({ store: new HeapKeyedStore(0, maxP - 1), close() {} }) },
  { name: 'lmdb', open: (dir, maxP) => lmdbStore(dir, maxP, DEFAULT_STATE_CACHE_MB * 2 ** 20) },
  { name: 'lmdb 1% cached', open: (dir, maxP) => lmdbStore(dir, maxP, Math.ceil(KEYS / 100) * bytesPerKey(1)) },
];

function lmdbStore(dir: string, maxP: number, cacheBytes: number) {
  const store = new LmdbKeyedStore({
    path: join(dir, 'env'),
    rangeStart: 0,
    rangeEnd: maxP - 1,
    cacheBytes,
    operatorUid: 'bench',
    subtask: 0,
  });
  return { store, close: () => store.dispose() };
}

const KEYS = 10_000;
const OPS = 1000;

export async function benchState(timeMs: number): Promise<MicroRow[]> {
  const keys = Array.from({ length: KEYS }, (_, i) => i);
  const groups = keys.map((k) => keyGroupFor(k, DEFAULT_MAX_PARALLELISM));
  const rows: MicroRow[] = [];
  for (const backend of STATE_BACKENDS) {
    const dir = mkdtempSync(join(tmpdir(), `eddy-bench-state-${backend.name}-`));
    const { store, close } = await backend.open(dir, DEFAULT_MAX_PARALLELISM);
    try {
      const table = store.register('count', 'value');
      for (let i = 0; i < KEYS; i++) {
        store.setCurrentKey(keys[i], groups[i]);
        store.put(table, 0);
      }
      let next = 0;
      let sink = 0;
      /** Makes the next key (round-robin over all keys) current. */
      const step = () => {
        store.setCurrentKey(keys[next], groups[next]);
        next = next + 1 === KEYS ? 0 : next + 1;
      };
      rows.push(
        ...(await runGroup('state', 'ops', timeMs, [
          {
            name: `${backend.name} get`,
            unitsPerCall: OPS,
            fn: () => {
              for (let j = 0; j < OPS; j++) {
                step();
                sink += store.get(table) as number;
              }
            },
          },
          {
            name: `${backend.name} update`,
            unitsPerCall: OPS,
            fn: () => {
              for (let j = 0; j < OPS; j++) {
                step();
                store.put(table, ((store.get(table) as number | undefined) ?? 0) + 1);
              }
            },
          },
        ])),
      );
      if (Number.isNaN(sink)) throw new Error('state micro-benchmark: a stored count was lost');
    } finally {
      await close();
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return rows;
}
