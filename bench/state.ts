/**
 * The state backends, in one run:
 *
 * 1. keyed count (bench/jobs/keyed-count.mjs) with `--state heap` and `--state lmdb` at 100k
 *    and 1M keys, alternating runs; lmdb as a ratio of heap (the goal: within 2×).
 * 2. checkpoint duration and bytes, full vs incremental, at 0.1%, 1% and 10% of the keys
 *    changed, for both backends: the snapshot of a store at the barrier, encoded and written
 *    durably (fsync) to checkpoint storage, as a task does it.
 * 3. restore of 1M keys into LMDB: from checkpoint storage (read, verify, load) vs local
 *    recovery (reopen the environment at the checkpoint and read a key).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CheckpointStorage } from '../core/checkpoint/storage.js';
import { runJob } from '../core/index.js';
import { HeapKeyedStore } from '../core/state/heap/heap-keyed-store.js';
import type { KeyedBackend } from '../core/state/keyed-backend.js';
import { keyGroupFor } from '../core/state/key-groups.js';
import { ValueStateHandle } from '../core/state/keyed-state.js';
import { LmdbKeyedStore } from '../core/state/lmdb/lmdb-keyed-store.js';
import { restoreKeyedChains } from '../core/state/snapshot.js';

const JOB = fileURLToPath(new URL('../../bench/jobs/keyed-count.mjs', import.meta.url));
const MAXP = 128;

export interface StateBenchOptions {
  /** Key counts of the keyed-count comparison (default 100k and 1M). */
  keyCounts: number[];
  /** Records per keyed-count run, as a multiple of the keys. */
  recordsPerKey: number;
  rounds: number;
  /** Keys of the checkpoint and restore parts. */
  stateKeys: number;
  changedFractions: number[];
}

export interface StateBenchResult {
  keyedCount: {
    keys: number;
    records: number;
    heapRecordsPerSec: number;
    lmdbRecordsPerSec: number;
    lmdbOverHeap: number;
    heapRuns: number[];
    lmdbRuns: number[];
  }[];
  checkpoints: {
    backend: 'heap' | 'lmdb';
    changed: number;
    fullMs: number;
    fullBytes: number;
    incrementalMs: number;
    incrementalBytes: number;
    bytesRatio: number;
  }[];
  restore: { keys: number; fromStorageMs: number; localRecoveryMs: number };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function keyedCount(keys: number, records: number, stateBackend: 'heap' | 'lmdb'): Promise<number> {
  const res = await runJob(JOB, { parallelism: 1, stateBackend, args: { count: String(records), keys: String(keys) } });
  const counted = res.operators.find((o) => o.uid === 'count')!.recordsIn;
  if (counted !== records) throw new Error(`${stateBackend} counted ${counted} of ${records}`);
  return records / (res.durationMs / 1000);
}

function fill(store: KeyedBackend, keys: number): (k: number, v: number) => void {
  const h = new ValueStateHandle<number>(store, store.register('count', 'value'));
  const set = (k: number, v: number) => {
    store.setCurrentKey(k, keyGroupFor(k, MAXP));
    h.update(v);
  };
  for (let k = 0; k < keys; k++) set(k, k);
  return set;
}

/** One checkpoint as a task takes it: snapshot at the barrier, encode, write durably. */
async function checkpoint(
  storage: CheckpointStorage,
  store: KeyedBackend,
  id: number,
  delta: ReturnType<KeyedBackend['trackChanges']> | undefined,
) {
  const t = performance.now();
  const snap = await store.snapshot(id, delta?.cut(id)).run();
  const file = await storage.writeStateFile(id, 'count-0-keyed.bin', snap.data);
  delta?.confirm(id);
  return { ms: performance.now() - t, bytes: file.bytes, snap };
}

export async function benchState(opts: StateBenchOptions, log: (line: string) => void): Promise<StateBenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'eddy-bench-state-'));
  const result: StateBenchResult = {
    keyedCount: [],
    checkpoints: [],
    restore: { keys: opts.stateKeys, fromStorageMs: 0, localRecoveryMs: 0 },
  };
  try {
    for (const keys of opts.keyCounts) {
      const records = keys * opts.recordsPerKey;
      await keyedCount(keys, Math.min(records, 200_000), 'heap');
      await keyedCount(keys, Math.min(records, 200_000), 'lmdb');
      const heap: number[] = [];
      const lmdb: number[] = [];
      for (let r = 0; r < opts.rounds; r++) {
        // Alternate which goes first, so drift falls on both alike.
        if (r % 2 === 0) {
          heap.push(await keyedCount(keys, records, 'heap'));
          lmdb.push(await keyedCount(keys, records, 'lmdb'));
        } else {
          lmdb.push(await keyedCount(keys, records, 'lmdb'));
          heap.push(await keyedCount(keys, records, 'heap'));
        }
      }
      const h = median(heap);
      const l = median(lmdb);
      result.keyedCount.push({
        keys,
        records,
        heapRecordsPerSec: h,
        lmdbRecordsPerSec: l,
        lmdbOverHeap: h / l,
        heapRuns: heap,
        lmdbRuns: lmdb,
      });
      log(
        `keyed count, ${keys} keys, ${records} records: heap ${Math.round(h)} rec/s, lmdb ${Math.round(l)} rec/s, lmdb takes ${(h / l).toFixed(2)}× heap's time`,
      );
    }

    let seq = 0;
    for (const backend of ['heap', 'lmdb'] as const) {
      for (const fraction of opts.changedFractions) {
        const store: KeyedBackend =
          backend === 'heap'
            ? new HeapKeyedStore(0, MAXP - 1)
            : new LmdbKeyedStore({
                path: join(dir, `env-${++seq}`),
                rangeStart: 0,
                rangeEnd: MAXP - 1,
                cacheBytes: 256 << 20,
                operatorUid: 'count',
                subtask: 0,
              });
        const log2 = store.trackChanges();
        const set = fill(store, opts.stateKeys);
        const storage = new CheckpointStorage(join(dir, `chk-${seq}-${backend}`));
        const full = await checkpoint(storage, store, 1, undefined);
        log2.cut(1);
        log2.confirm(1);
        const changed = Math.round(opts.stateKeys * fraction);
        for (let i = 0; i < changed; i++) set((i * 7919) % opts.stateKeys, -i);
        const inc = await checkpoint(storage, store, 2, log2);
        result.checkpoints.push({
          backend,
          changed: fraction,
          fullMs: full.ms,
          fullBytes: full.bytes,
          incrementalMs: inc.ms,
          incrementalBytes: inc.bytes,
          bytesRatio: inc.bytes / full.bytes,
        });
        log(
          `checkpoint ${backend}, ${opts.stateKeys} keys, ${(fraction * 100).toFixed(1)}% changed: full ${full.ms.toFixed(0)} ms ${full.bytes} B, ` +
            `incremental ${inc.ms.toFixed(0)} ms ${inc.bytes} B (${((inc.bytes / full.bytes) * 100).toFixed(2)}%)`,
        );
        await store.dispose();
      }
    }

    // Restore: a store at checkpoint 1 in its environment, and the same checkpoint in storage.
    const path = join(dir, 'restore-env');
    const open = (resumeAt?: number) =>
      new LmdbKeyedStore({ path, rangeStart: 0, rangeEnd: MAXP - 1, cacheBytes: 256 << 20, operatorUid: 'count', subtask: 0, resumeAt });
    const original = open();
    fill(original, opts.stateKeys);
    const storage = new CheckpointStorage(join(dir, 'restore-chk'));
    const { snap } = await checkpoint(storage, original, 1, undefined);
    const file = await storage.writeStateFile(1, 'count-0-keyed-copy.bin', snap.data);
    await original.dispose();

    let t = performance.now();
    const local = open(1);
    if (!local.recoveredLocally) throw new Error('local recovery did not happen');
    local.register('count', 'value');
    result.restore.localRecoveryMs = performance.now() - t;
    await local.dispose();

    t = performance.now();
    const fresh = open(999); // not at that checkpoint: emptied, loaded from storage
    restoreKeyedChains(fresh, [[{ data: await storage.readStateFile(file), index: snap.index }]]);
    result.restore.fromStorageMs = performance.now() - t;
    await fresh.dispose();
    log(
      `restore ${opts.stateKeys} keys into lmdb: from storage ${result.restore.fromStorageMs.toFixed(0)} ms, local recovery ${result.restore.localRecoveryMs.toFixed(1)} ms`,
    );
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
