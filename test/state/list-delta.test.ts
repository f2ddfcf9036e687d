// test-lane: pair
/**
 * Append-only deltas of list state in the heap backend's incremental snapshots. Random
 * sequences of appends, updates, clears and removes of list state, with checkpoints confirmed,
 * declined (never restored) or completed but never confirmed between them: restoring each
 * checkpoint's chain (the confirmed chain it is based on, then its own delta) must give exactly
 * the lists an in-test Map of arrays holds at that barrier — on the heap, in LMDB, and at another
 * parallelism. And the delta of a key that was only appended to holds only the appended
 * elements, read straight from the snapshot's bytes.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setImmediate as turn } from 'node:timers/promises';
import { Unpackr } from 'msgpackr';
import { HeapKeyedStore } from '../../core/state/heap/heap-keyed-store.js';
import { keyGroupFor } from '../../core/state/key-groups.js';
import { ListStateHandle, ValueStateHandle } from '../../core/state/keyed-state.js';
import type { KeyedBackend } from '../../core/state/keyed-backend.js';
import { restoreKeyedChains, type KeyedSnapshot } from '../../core/state/snapshot.js';
import { prng } from '../helpers/prng.js';
import { lmdbStores, restoredEverywhere } from '../helpers/restored-chains.js';

const lmdb = lmdbStores('lists');

const MAXP = 16;
const KEYS = 60;

type Lists = Map<number, number[]>;

/** The lists a store holds for the keys of its range (absent = no entry, as the model). */
function readLists(store: KeyedBackend): Lists {
  const h = new ListStateHandle<number>(store, store.register('l', 'list'));
  const out: Lists = new Map();
  for (let k = 0; k < KEYS; k++) {
    const kg = keyGroupFor(k, MAXP);
    if (kg < store.rangeStart || kg > store.rangeEnd) continue;
    store.setCurrentKey(k, kg);
    const l = h.get();
    if (l.length > 0) out.set(k, [...l]);
  }
  return out;
}

function sorted(m: Lists): Lists {
  return new Map([...m].sort((a, b) => a[0] - b[0]));
}

/** Restores `chain` into heap (one subtask and two), and into LMDB and back into the heap: each must hold `expect`. */
async function checkRestores(chain: KeyedSnapshot[], expect: Lists, what: string): Promise<void> {
  const r = restoredEverywhere(chain, MAXP, readLists, lmdb);
  try {
    assert.deepEqual(sorted(r.heap), sorted(expect), `${what}: heap`);
    assert.deepEqual(sorted(new Map([...r.halves[0], ...r.halves[1]])), sorted(expect), `${what}: heap at parallelism 2`);
    assert.deepEqual(sorted(r.lmdb), sorted(expect), `${what}: LMDB`);
    // And back: LMDB's full snapshot restored into the heap.
    r.db.trackChanges();
    const full = await r.db.snapshot(1, undefined).run();
    const back = new HeapKeyedStore(0, MAXP - 1);
    restoreKeyedChains(back, [[full]]);
    assert.deepEqual(sorted(readLists(back)), sorted(expect), `${what}: LMDB, then heap`);
  } finally {
    await r.db.dispose();
  }
}

async function run(seed: number): Promise<{ appendDeltas: number; checked: number }> {
  const rand = prng(seed);
  const store = new HeapKeyedStore(0, MAXP - 1);
  const list = new ListStateHandle<number>(store, store.register('l', 'list'));
  // A value table beside it: a chunk holds both tables' changes.
  const value = new ValueStateHandle<string>(store, store.register('v', 'value'));
  const changes = store.trackChanges();
  const model: Lists = new Map();
  /** The chain of the last confirmed checkpoint: its full snapshot and deltas. */
  let confirmed: KeyedSnapshot[] = [];
  let id = 0;
  let appendDeltas = 0;
  let checked = 0;
  const unpackr = new Unpackr({ useRecords: true, useBigIntExtension: true });
  for (let i = 0; i < 4000; i++) {
    const k = Math.floor(rand() * KEYS);
    store.setCurrentKey(k, keyGroupFor(k, MAXP));
    const r = rand();
    const n = Math.floor(rand() * 1000);
    const l = model.get(k);
    if (r < 0.55) {
      list.add(n);
      if (l) l.push(n);
      else model.set(k, [n]);
    } else if (r < 0.65) {
      list.addAll([n, n + 1]);
      if (l) l.push(n, n + 1);
      else model.set(k, [n, n + 1]);
    } else if (r < 0.72) {
      const next = [n, ...(l ?? []).slice(1)];
      list.update(next);
      model.set(k, next.slice());
    } else if (r < 0.77) {
      list.clear();
      model.delete(k);
    } else if (r < 0.8) {
      list.update([]);
      model.delete(k);
    } else if (r < 0.85) {
      // Read, then append: a list from get() appended to through the handle.
      list.get();
      list.add(n);
      if (l) l.push(n);
      else model.set(k, [n]);
    } else value.update(`v${n}`);
    if (rand() < 0.01) {
      id++;
      // The first is full; later ones deltas since the last confirmed, sometimes a full one anyway.
      const cut = changes.cut(id);
      const full = confirmed.length === 0 || rand() < 0.05;
      const expect = new Map([...model].map(([key, xs]) => [key, xs.slice()]));
      const job = store.snapshot(id, full ? undefined : cut);
      // Writes go on while the snapshot is captured (copy on write per key group).
      const done = job.run();
      for (let w = 0; w < 5; w++) {
        const k2 = Math.floor(rand() * KEYS);
        store.setCurrentKey(k2, keyGroupFor(k2, MAXP));
        list.add(-1);
        const l2 = model.get(k2);
        if (l2) l2.push(-1);
        else model.set(k2, [-1]);
        await turn();
      }
      const snap = await done;
      for (const [kg, offset, length] of snap.index) {
        const msg = unpackr.unpack(snap.data.subarray(offset, offset + length)) as unknown[];
        if (msg[0] === 3) appendDeltas++;
        if (full) assert.notEqual(msg[0], 3, `a full snapshot holds no appends (key group ${kg})`);
      }
      const chain = full ? [snap] : [...confirmed, snap];
      await checkRestores(chain, expect, `seed ${seed}, checkpoint ${id}${full ? ' (full)' : ''}`);
      checked++;
      const fate = rand();
      if (fate < 0.6) {
        changes.confirm(id);
        confirmed = chain;
      }
      // Else declined, or completed and never confirmed: the next delta is based on the older chain.
    }
  }
  return { appendDeltas, checked };
}

describe('list state: append-only deltas of incremental heap snapshots, against a model', () => {
  for (const seed of [1, 2, 3, 4]) {
    it(`every checkpoint's chain restores the barrier-time lists, on heap, in LMDB and at parallelism 2 (seed ${seed})`, async () => {
      const { appendDeltas, checked } = await run(seed);
      assert.ok(checked >= 15, `only ${checked} checkpoints`);
      assert.ok(appendDeltas > 0, 'some delta appended to lists');
    });
  }
});

describe('list state: the delta of a key only appended to', () => {
  it('holds only the appended elements (read from the snapshot bytes), and restores the whole list', async () => {
    const store = new HeapKeyedStore(0, MAXP - 1);
    const list = new ListStateHandle<string>(store, store.register('l', 'list'));
    const changes = store.trackChanges();
    const kA = 7;
    const kB = 8;
    const at = (k: number) => store.setCurrentKey(k, keyGroupFor(k, MAXP));
    at(kA);
    list.addAll(['a0', 'a1', 'a2']);
    at(kB);
    list.addAll(['b0', 'b1']);
    changes.cut(1);
    const base = await store.snapshot(1, undefined).run();
    changes.confirm(1);
    at(kA);
    list.add('a3');
    at(kB);
    list.update(['B0']);
    list.add('B1');
    const delta = await store.snapshot(2, changes.cut(2)).run();
    // The chunk of kA's key group, decoded with msgpackr alone.
    const unpackr = new Unpackr({ useRecords: true, useBigIntExtension: true });
    const chunkOf = (k: number) => {
      const e = delta.index.find(([kg]) => kg === keyGroupFor(k, MAXP))!;
      return unpackr.unpack(delta.data.subarray(e[1], e[1] + e[2])) as [
        number,
        number,
        [string, string][],
        unknown[],
        unknown[],
        unknown[],
      ];
    };
    const a = chunkOf(kA);
    assert.equal(a[0], 3, 'a chunk with appends is version 3');
    assert.deepEqual(a[2], [['l', 'list']]);
    assert.deepEqual(a[5], [0, kA, ['a3']], 'only the appended element');
    assert.ok(!a[3].includes(kA), 'kA is not also set whole');
    // kB was replaced, then appended to: whole.
    const b = chunkOf(kB);
    if (keyGroupFor(kB, MAXP) !== keyGroupFor(kA, MAXP)) assert.equal(b[0], 1, 'a whole change is the version 1 form');
    const setB = (b[3] as unknown[]).findIndex((x, i) => i % 3 === 1 && x === kB);
    assert.deepEqual(b[3][setB + 1], ['B0', 'B1']);
    const fresh = new HeapKeyedStore(0, MAXP - 1);
    restoreKeyedChains(fresh, [[base, delta]]);
    const h = new ListStateHandle<string>(fresh, fresh.register('l', 'list'));
    fresh.setCurrentKey(kA, keyGroupFor(kA, MAXP));
    assert.deepEqual(h.get(), ['a0', 'a1', 'a2', 'a3']);
    fresh.setCurrentKey(kB, keyGroupFor(kB, MAXP));
    assert.deepEqual(h.get(), ['B0', 'B1']);
  });

  it('a full snapshot holding appends is refused on restore', () => {
    const store = new HeapKeyedStore(0, MAXP - 1);
    const list = new ListStateHandle<string>(store, store.register('l', 'list'));
    const changes = store.trackChanges();
    store.setCurrentKey(1, keyGroupFor(1, MAXP));
    list.add('x');
    changes.cut(1);
    changes.confirm(1);
    list.add('y');
    return store
      .snapshot(2, changes.cut(2))
      .run()
      .then((delta) => {
        assert.throws(
          () => restoreKeyedChains(new HeapKeyedStore(0, MAXP - 1), [[delta]]),
          (e: Error & { code?: string }) => e.code === 'CHECKPOINT_CORRUPT' && /only a delta may/.test(e.message),
        );
      });
  });
});
