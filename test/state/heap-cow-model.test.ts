// test-lane: pair
/**
 * The heap backend's copy-on-write snapshots against a model: seeded random
 * sequences of get / put / remove / mutate-in-place on value, list and map state, with
 * snapshots (full, and incremental chains) taken while writes go on between the background
 * encoder's slices — and several snapshots overlapping. Every snapshot, restored into a fresh
 * store, must hold exactly the model's state at its barrier: not later writes, not earlier
 * ones lost.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setImmediate as turn } from 'node:timers/promises';
import { HeapKeyedStore } from '../../core/state/heap/heap-keyed-store.js';
import { keyGroupFor } from '../../core/state/key-groups.js';
import { ListStateHandle, MapStateHandle, ValueStateHandle } from '../../core/state/keyed-state.js';
import { restoreKeyedChains, snapshotKeyedStore, type KeyedSnapshot } from '../../core/state/snapshot.js';
import { PACK_OFF_THREAD_MIN_ENTRIES } from '../../core/state/heap/heap-snapshot.js';
import { stopPackerThread } from '../../core/state/heap/snapshot-packer.js';
import { forEachKeyGroupChunk, type KeyGroupChunk } from '../../core/state/snapshot-format.js';
import { prng } from '../helpers/prng.js';

const MAXP = 16;

/** Every key group's decoded chunk, in order: what a restore reads, whatever the chunk's encoding. */
function chunksOf(snap: KeyedSnapshot): [number, KeyGroupChunk][] {
  const out: [number, KeyGroupChunk][] = [];
  forEachKeyGroupChunk([snap], snap.keyGroups, (kg, chunk) => out.push([kg, chunk]));
  return out;
}
const KEYS = 150;

/** The reference: plain Maps, copied whole at each barrier. */
interface Model {
  value: Map<number, { n: number }>;
  list: Map<number, number[]>;
  map: Map<number, Map<number, { n: number }>>;
}
const emptyModel = (): Model => ({ value: new Map(), list: new Map(), map: new Map() });

function handles(store: HeapKeyedStore) {
  return {
    value: new ValueStateHandle<{ n: number }>(store, store.register('value', 'value')),
    list: new ListStateHandle<number>(store, store.register('list', 'list')),
    map: new MapStateHandle<number, { n: number }>(store, store.register('map', 'map')),
  };
}

/** A store's contents in the model's shape (absent list and map = empty, as the handles say). */
function readAll(store: HeapKeyedStore): Model {
  const h = handles(store);
  const m = emptyModel();
  for (let k = 0; k < KEYS; k++) {
    store.setCurrentKey(k, keyGroupFor(k, MAXP));
    const v = h.value.value();
    if (v !== undefined) m.value.set(k, { n: v.n });
    const l = h.list.get();
    if (l.length) m.list.set(k, [...l]);
    const e = h.map.entries();
    if (e.length) m.map.set(k, new Map(e.map(([uk, uv]) => [uk, { n: uv.n }] as [number, { n: number }]).sort((a, b) => a[0] - b[0])));
  }
  return m;
}

function normal(m: Model): Model {
  const sorted = <V>(x: Map<number, V>) => new Map([...x].sort((a, b) => a[0] - b[0]));
  return {
    value: sorted(m.value),
    list: sorted(m.list),
    map: new Map([...sorted(m.map)].filter(([, e]) => e.size > 0).map(([k, e]) => [k, sorted(e)])),
  };
}

/** One random operation, applied to the store through the handles and to the model alike. */
function step(rand: () => number, store: HeapKeyedStore, h: ReturnType<typeof handles>, model: Model, inPlaceWithoutPut: boolean): void {
  const k = Math.floor(rand() * KEYS);
  store.setCurrentKey(k, keyGroupFor(k, MAXP));
  const r = rand();
  const n = Math.floor(rand() * 1000);
  if (r < 0.15) {
    h.value.update({ n });
    model.value.set(k, { n });
  } else if (r < 0.3) {
    // Mutate the object handed out by get; with a put after it unless this run also tests bare in-place writes.
    const v = h.value.value();
    if (v !== undefined) {
      v.n += 1;
      if (!inPlaceWithoutPut) h.value.update(v);
      model.value.get(k)!.n += 1;
    }
  } else if (r < 0.37) {
    h.value.clear();
    model.value.delete(k);
  } else if (r < 0.55) {
    h.list.add(n);
    const l = model.list.get(k);
    if (l) l.push(n);
    else model.list.set(k, [n]);
  } else if (r < 0.6) {
    h.list.clear();
    model.list.delete(k);
  } else if (r < 0.75) {
    const uk = n % 7;
    h.map.put(uk, { n });
    const e = model.map.get(k) ?? new Map();
    e.set(uk, { n });
    model.map.set(k, e);
  } else if (r < 0.85) {
    const uk = n % 7;
    const v = h.map.get(uk);
    if (v !== undefined) {
      v.n += 1;
      if (!inPlaceWithoutPut) h.map.put(uk, v);
      model.map.get(k)!.get(uk)!.n += 1;
    }
  } else if (r < 0.93) {
    const uk = n % 7;
    h.map.remove(uk);
    model.map.get(k)?.delete(uk);
  } else {
    h.value.value();
    h.list.get();
    h.map.get(n % 7);
  }
}

async function run(seed: number, incremental: boolean): Promise<void> {
  const rand = prng(seed);
  const store = new HeapKeyedStore(0, MAXP - 1);
  const h = handles(store);
  const changes = incremental ? store.trackChanges() : undefined;
  const model = emptyModel();
  let id = 0;
  /** Snapshots in barrier order, each with the model at its barrier; chains for incremental. */
  const open: { id: number; expect: Model; done: Promise<KeyedSnapshot>; base: KeyedSnapshot[] }[] = [];
  /** The chain of the last confirmed checkpoint, which a delta cut now is based on (as the task keeps it). */
  let confirmed: KeyedSnapshot[] = [];
  let checked = 0;
  const check = async (s: (typeof open)[number]) => {
    const snap = await s.done;
    let parts: KeyedSnapshot[] = [snap];
    if (changes) {
      changes.confirm(s.id);
      parts = [...s.base, snap];
      confirmed = parts;
    }
    const fresh = new HeapKeyedStore(0, MAXP - 1);
    restoreKeyedChains(fresh, [parts]);
    assert.deepEqual(normal(readAll(fresh)), normal(s.expect), `seed ${seed}, ${incremental ? 'incremental' : 'full'} snapshot ${s.id}`);
    checked++;
  };
  for (let i = 0; i < 6000; i++) {
    step(rand, store, h, model, !incremental);
    if (rand() < 0.004) {
      id++;
      // The first of a chain is full; later ones are deltas since the last confirmed checkpoint.
      const delta = changes && id > 1 ? changes.cut(id) : (changes?.cut(id), undefined);
      const job = store.snapshot(id, delta);
      open.push({ id, expect: structuredClone(model), done: job.run(), base: delta === undefined ? [] : confirmed });
    }
    // Let the background encoder take a slice now and then, between writes.
    if (rand() < 0.02) await turn();
    // Checked (and confirmed) in order; a delta cut before the previous one was confirmed is based on an older chain.
    while (open.length && (incremental ? rand() < 0.3 : rand() < 0.05)) await check(open.shift()!);
  }
  while (open.length) await check(open.shift()!);
  assert.ok(checked >= 10, `only ${checked} snapshots were taken`);
}

describe('heap snapshots: copy-on-write against a model', () => {
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    it(`full snapshots restore the barrier-time state (seed ${seed}, in-place mutation without put)`, () => run(seed, false));
    it(`incremental chains restore the barrier-time state (seed ${seed})`, () => run(seed, true));
  }
});

/**
 * Numeric state big enough to be packed on the packer thread (captured as typed arrays):
 * two value tables of numbers over NUM_KEYS keys, random puts and removes going on while
 * snapshots are captured and packed, full and incremental. Each restored snapshot must equal
 * the model copied at its barrier; a snapshot packed on the thread must be byte for byte the
 * synchronous encoder's.
 */
const NUM_KEYS = 25_000;
const NUM_MAXP = 128;

async function runNumeric(seed: number, incremental: boolean): Promise<void> {
  const rand = prng(seed);
  const store = new HeapKeyedStore(0, NUM_MAXP - 1);
  const sum = new ValueStateHandle<number>(store, store.register('sum', 'value'));
  const count = new ValueStateHandle<number>(store, store.register('count', 'value'));
  const changes = incremental ? store.trackChanges() : undefined;
  const model = [new Map<number, number>(), new Map<number, number>()];
  for (let k = 0; k < NUM_KEYS; k++) {
    store.setCurrentKey(k, keyGroupFor(k, NUM_MAXP));
    sum.update(k * 0.5);
    count.update(k);
    model[0].set(k, k * 0.5);
    model[1].set(k, k);
  }
  assert.ok(NUM_KEYS * 2 >= PACK_OFF_THREAD_MIN_ENTRIES);
  const readNumeric = (s: HeapKeyedStore) => {
    const h = [new ValueStateHandle<number>(s, s.register('sum', 'value')), new ValueStateHandle<number>(s, s.register('count', 'value'))];
    const out = [new Map<number, number>(), new Map<number, number>()];
    for (let k = 0; k < NUM_KEYS; k++) {
      s.setCurrentKey(k, keyGroupFor(k, NUM_MAXP));
      h.forEach((x, t) => {
        const v = x.value();
        if (v !== undefined) out[t].set(k, v);
      });
    }
    return out;
  };
  const chain: KeyedSnapshot[] = [];
  for (let id = 1; id <= 3; id++) {
    const delta = changes && id > 1 ? changes.cut(id) : (changes?.cut(id), undefined);
    const expect = model.map((m) => new Map(m));
    if (id === 1)
      assert.deepEqual(
        chunksOf(await store.snapshot(id, undefined).run()),
        chunksOf(snapshotKeyedStore(store)),
        'packed off the loop (number runs) = encoded on it (msgpack entries)',
      );
    const done = store.snapshot(id, delta).run();
    // Writes go on while the snapshot is captured and packed: a third of the keys change.
    for (let i = 0; i < NUM_KEYS / 3; i++) {
      const k = Math.floor(rand() * NUM_KEYS);
      store.setCurrentKey(k, keyGroupFor(k, NUM_MAXP));
      const r = rand();
      if (r < 0.1) {
        sum.clear();
        model[0].delete(k);
      } else if (r < 0.15) {
        // A value that is not a number after numbers: the Set log's barrier-time read must win over the write log.
        (sum as unknown as ValueStateHandle<string>).update(`text ${k}`);
        (model[0] as unknown as Map<number, string>).set(k, `text ${k}`);
      } else {
        const before = sum.value();
        const s = (typeof before === 'number' ? before : 0) + Math.floor(r * 100) / 8;
        sum.update(s);
        count.update((count.value() ?? 0) + 1);
        model[0].set(k, s);
        model[1].set(k, (model[1].get(k) ?? 0) + 1);
      }
      if (i % 500 === 0) await turn();
    }
    const snap = await done;
    changes?.confirm(id);
    chain.push(snap);
    const fresh = new HeapKeyedStore(0, NUM_MAXP - 1);
    restoreKeyedChains(fresh, [incremental ? [...chain] : [snap]]);
    assert.deepEqual(readNumeric(fresh), expect, `seed ${seed}, ${incremental ? 'incremental' : 'full'} snapshot ${id}`);
  }
}

describe('heap snapshots: numeric state packed on the packer thread, against a model', () => {
  it('full snapshots restore the barrier-time state', () => runNumeric(11, false));
  it('incremental chains restore the barrier-time state', () => runNumeric(12, true));
});

describe('heap snapshots: the packer thread failing', () => {
  it('fails the snapshots in it with STATE_FAILED, and the next snapshot packs on a new thread', async () => {
    // Map tables: their groups reach the packer one message at a time, so it is stopped mid-snapshot.
    const store = new HeapKeyedStore(0, NUM_MAXP - 1, false);
    const sum = new ValueStateHandle<number>(store, store.register('sum', 'value'));
    const expect = new Map<number, number>();
    for (let k = 0; k < PACK_OFF_THREAD_MIN_ENTRIES; k++) {
      store.setCurrentKey(k, keyGroupFor(k, NUM_MAXP));
      sum.update(k + 0.25);
      expect.set(k, k + 0.25);
    }
    const lost = store.snapshot(1, undefined).run();
    await stopPackerThread();
    await assert.rejects(lost, (e: Error & { code?: string }) => e.code === 'STATE_FAILED' && /snapshot packer thread/.test(e.message));
    const snap = await store.snapshot(2, undefined).run();
    const fresh = new HeapKeyedStore(0, NUM_MAXP - 1);
    restoreKeyedChains(fresh, [[snap]]);
    const h = new ValueStateHandle<number>(fresh, fresh.register('sum', 'value'));
    for (const [k, v] of expect) {
      fresh.setCurrentKey(k, keyGroupFor(k, NUM_MAXP));
      assert.equal(h.value(), v);
    }
  });
});
