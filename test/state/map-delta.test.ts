// test-lane: pair
/**
 * Entry-by-entry deltas of map state in the heap backend's incremental snapshots (and so of
 * timers, which are map entries under a reserved key). Random puts, removes, clears and whole
 * rewrites of map state, with checkpoints confirmed, declined (never restored) or completed but
 * never confirmed between them: restoring each checkpoint's chain (the confirmed chain it is
 * based on, then its own delta) must give exactly the maps an in-test Map of Maps holds at that
 * barrier — on the heap, in LMDB, and at another parallelism. And the delta of a map that had one
 * entry put holds only that entry, read straight from the snapshot's bytes with msgpackr.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setImmediate as turn } from 'node:timers/promises';
import { Packr, Unpackr } from 'msgpackr';
import { HeapKeyedStore } from '../../core/state/heap/heap-keyed-store.js';
import { keyGroupFor } from '../../core/state/key-groups.js';
import { MapStateHandle, ValueStateHandle } from '../../core/state/keyed-state.js';
import type { KeyedBackend } from '../../core/state/keyed-backend.js';
import { restoreKeyedChains, type KeyedSnapshot } from '../../core/state/snapshot.js';
import { prng } from '../helpers/prng.js';
import { lmdbStores, restoredEverywhere } from '../helpers/restored-chains.js';

const lmdb = lmdbStores('maps');

const MAXP = 16;
const KEYS = 40;
const USER_KEYS = 12;

/** key → user key → value; a user key is a number or a composite [tag, n]. */
type Maps = Map<number, Map<string, [unknown, number]>>;

const userKeyOf = (n: number): unknown => (n % 3 === 0 ? ['u', n] : n);
const modelKey = (u: unknown): string => JSON.stringify(u);

/** The maps a store holds for the keys of its range, as sorted [key, [[userKey, value]…]] lists. */
function readMaps(store: KeyedBackend): [number, [string, number][]][] {
  const h = new MapStateHandle<unknown, number>(store, store.register('m', 'map'));
  const out: [number, [string, number][]][] = [];
  for (let k = 0; k < KEYS; k++) {
    const kg = keyGroupFor(k, MAXP);
    if (kg < store.rangeStart || kg > store.rangeEnd) continue;
    store.setCurrentKey(k, kg);
    const e = h.entries().map(([u, v]): [string, number] => [modelKey(u), v]);
    if (e.length > 0) out.push([k, e.sort((a, b) => (a[0] < b[0] ? -1 : 1))]);
  }
  return out;
}

function modelMaps(m: Maps): [number, [string, number][]][] {
  return [...m]
    .filter(([, e]) => e.size > 0)
    .map(([k, e]): [number, [string, number][]] => [
      k,
      [...e].map(([u, [, v]]): [string, number] => [u, v]).sort((a, b) => (a[0] < b[0] ? -1 : 1)),
    ])
    .sort((a, b) => a[0] - b[0]);
}

async function checkRestores(chain: KeyedSnapshot[], expect: Maps, what: string): Promise<void> {
  const want = modelMaps(expect);
  const r = restoredEverywhere(chain, MAXP, readMaps, lmdb);
  try {
    assert.deepEqual(r.heap, want, `${what}: heap`);
    assert.deepEqual(
      [...r.halves[0], ...r.halves[1]].sort((a, b) => a[0] - b[0]),
      want,
      `${what}: heap at parallelism 2`,
    );
    assert.deepEqual(r.lmdb, want, `${what}: LMDB`);
  } finally {
    await r.db.dispose();
  }
}

async function run(seed: number): Promise<{ entryDeltas: number; checked: number }> {
  const rand = prng(seed);
  const store = new HeapKeyedStore(0, MAXP - 1);
  const map = new MapStateHandle<unknown, number>(store, store.register('m', 'map'));
  const value = new ValueStateHandle<string>(store, store.register('v', 'value'));
  const changes = store.trackChanges();
  const model: Maps = new Map();
  let confirmed: KeyedSnapshot[] = [];
  let id = 0;
  let entryDeltas = 0;
  let checked = 0;
  const unpackr = new Unpackr({ useRecords: true, useBigIntExtension: true });
  const op = (k: number) => {
    store.setCurrentKey(k, keyGroupFor(k, MAXP));
    let m = model.get(k);
    if (m === undefined) model.set(k, (m = new Map()));
    const r = rand();
    const u = userKeyOf(Math.floor(rand() * USER_KEYS));
    const n = Math.floor(rand() * 1000);
    if (r < 0.6) {
      map.put(u, n);
      m.set(modelKey(u), [u, n]);
    } else if (r < 0.85) {
      map.remove(u);
      m.delete(modelKey(u));
    } else if (r < 0.9) {
      map.clear();
      m.clear();
    } else if (r < 0.93) {
      // A whole rewrite: cleared, then put again.
      map.clear();
      m.clear();
      map.put(u, n);
      m.set(modelKey(u), [u, n]);
    } else value.update(`v${n}`);
  };
  for (let i = 0; i < 4000; i++) {
    op(Math.floor(rand() * KEYS));
    if (rand() < 0.01) {
      id++;
      const cut = changes.cut(id);
      const full = confirmed.length === 0 || rand() < 0.05;
      const expect: Maps = new Map([...model].map(([key, e]) => [key, new Map(e)]));
      const done = store.snapshot(id, full ? undefined : cut).run();
      // Writes go on while the snapshot is captured (copy on write per key group).
      for (let w = 0; w < 5; w++) {
        op(Math.floor(rand() * KEYS));
        await turn();
      }
      const snap = await done;
      for (const [kg, offset, length] of snap.index) {
        const msg = unpackr.unpack(snap.data.subarray(offset, offset + length)) as unknown[];
        if (msg[0] === 4) entryDeltas++;
        if (full) assert.notEqual(msg[0], 4, `a full snapshot holds no entry changes (key group ${kg})`);
      }
      const chain = full ? [snap] : [...confirmed, snap];
      await checkRestores(chain, expect, `seed ${seed}, checkpoint ${id}${full ? ' (full)' : ''}`);
      checked++;
      if (rand() < 0.6) {
        changes.confirm(id);
        confirmed = chain;
      }
    }
  }
  return { entryDeltas, checked };
}

describe('map state: entry-by-entry deltas of incremental heap snapshots, against a model', () => {
  for (const seed of [1, 2, 3, 4]) {
    it(`every checkpoint's chain restores the barrier-time maps, on heap, in LMDB and at parallelism 2 (seed ${seed})`, async () => {
      const { entryDeltas, checked } = await run(seed);
      assert.ok(checked >= 15, `only ${checked} checkpoints`);
      assert.ok(entryDeltas > 0, 'some delta changed map entries');
    });
  }
});

describe('map state: the delta of a map changed entry by entry', () => {
  it('is the documented version 4 chunk holding only the changed entries, and restores the whole map', async () => {
    const store = new HeapKeyedStore(0, MAXP - 1);
    const map = new MapStateHandle<unknown, string>(store, store.register('m', 'map'));
    const changes = store.trackChanges();
    const k = 5;
    const kg = keyGroupFor(k, MAXP);
    store.setCurrentKey(k, kg);
    for (let i = 0; i < 50; i++) map.put(i, `v${i}`);
    map.put(['c', 1], 'composite');
    changes.cut(1);
    const base = await store.snapshot(1, undefined).run();
    changes.confirm(1);
    map.put(50, 'new');
    map.remove(['c', 1]);
    map.remove(3);
    const delta = await store.snapshot(2, changes.cut(2)).run();
    // Documented: [4, kg, tables, entries, deletions, appends, [t, storedKey, [[userKey, value]…], [storedUserKey…]]].
    const expected = new Packr({ useRecords: true, useBigIntExtension: true }).pack([
      4,
      kg,
      [['m', 'map']],
      [],
      [],
      [],
      [0, k, [[50, 'new']], ['["c",1]', 3]],
    ]);
    assert.deepEqual(delta.index, [[kg, 0, expected.length]]);
    assert.ok(Buffer.from(delta.data).equals(Buffer.from(expected)), 'the delta is the changed entries only');
    const fresh = new HeapKeyedStore(0, MAXP - 1);
    restoreKeyedChains(fresh, [[base, delta]]);
    const h = new MapStateHandle<unknown, string>(fresh, fresh.register('m', 'map'));
    fresh.setCurrentKey(k, kg);
    const want = new Map<unknown, string>(Array.from({ length: 51 }, (_, i): [number, string] => [i, i === 50 ? 'new' : `v${i}`]));
    want.delete(3);
    assert.deepEqual(new Map(h.entries()), want);
  });

  it('a full snapshot holding entry changes is refused on restore', async () => {
    const store = new HeapKeyedStore(0, MAXP - 1);
    const map = new MapStateHandle<unknown, string>(store, store.register('m', 'map'));
    const changes = store.trackChanges();
    store.setCurrentKey(1, keyGroupFor(1, MAXP));
    map.put('a', 'x');
    changes.cut(1);
    changes.confirm(1);
    map.put('b', 'y');
    const delta = await store.snapshot(2, changes.cut(2)).run();
    assert.throws(
      () => restoreKeyedChains(new HeapKeyedStore(0, MAXP - 1), [[delta]]),
      (e: Error & { code?: string }) => e.code === 'CHECKPOINT_CORRUPT' && /changes map entries, which only a delta may/.test(e.message),
    );
  });
});
