/**
 * The LMDB backend against an independent model (plain Maps kept by the test): reads through
 * a cache far smaller than the state, snapshots taken at a barrier stay exact while the store
 * keeps changing, deltas on top of a base restore exactly, and snapshots move between heap and
 * LMDB at any parallelism.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { HeapKeyedStore } from '../../core/state/heap/heap-keyed-store.js';
import type { KeyedBackend } from '../../core/state/keyed-backend.js';
import { keyGroupFor, keyGroupRange } from '../../core/state/key-groups.js';
import { ListStateHandle, MapStateHandle, ValueStateHandle } from '../../core/state/keyed-state.js';
import { LmdbKeyedStore } from '../../core/state/lmdb/lmdb-keyed-store.js';
import { restoreKeyedChains, type KeyedSnapshot } from '../../core/state/snapshot.js';
import { prng } from '../helpers/prng.js';

const root = mkdtempSync(join(tmpdir(), 'eddy-lmdb-test-'));
after(() => rmSync(root, { recursive: true, force: true }));
let envSeq = 0;

const MAXP = 32;

function lmdb(index: number, parallelism: number, cacheBytes = 64 * 160): LmdbKeyedStore {
  const r = keyGroupRange(index, MAXP, parallelism);
  return new LmdbKeyedStore({
    path: join(root, `env-${++envSeq}`),
    rangeStart: r.start,
    rangeEnd: r.end,
    cacheBytes,
    operatorUid: 'count',
    subtask: index,
  });
}

function heap(index: number, parallelism: number): HeapKeyedStore {
  const r = keyGroupRange(index, MAXP, parallelism);
  return new HeapKeyedStore(r.start, r.end);
}

/** The model: per key its value, list and map, as plain data. */
interface Model {
  value: Map<string, number>;
  list: Map<string, number[]>;
  map: Map<string, Map<string, number>>;
}
const emptyModel = (): Model => ({ value: new Map(), list: new Map(), map: new Map() });
const cloneModel = (m: Model): Model => structuredClone(m);

/** A job's view of several subtask stores: handles per store, routing by key group. */
class Stores {
  readonly h: { value: ValueStateHandle<number>; list: ListStateHandle<number>; map: MapStateHandle<string, number> }[];
  constructor(readonly stores: KeyedBackend[]) {
    this.h = stores.map((s) => ({
      value: new ValueStateHandle<number>(s, s.register('value', 'value')),
      list: new ListStateHandle<number>(s, s.register('list', 'list')),
      map: new MapStateHandle<string, number>(s, s.register('map', 'map')),
    }));
  }
  at(key: string) {
    const kg = keyGroupFor(key, MAXP);
    const i = this.stores.findIndex((s) => kg >= s.rangeStart && kg <= s.rangeEnd);
    this.stores[i].setCurrentKey(key, kg);
    return this.h[i];
  }
}

function step(s: Stores, m: Model, r: () => number, keys: number): void {
  const key = `k${Math.floor(r() * keys)}`;
  const h = s.at(key);
  const op = Math.floor(r() * 7);
  const n = Math.floor(r() * 1000);
  switch (op) {
    case 0:
    case 1:
      h.value.update(n);
      m.value.set(key, n);
      break;
    case 2:
      h.value.clear();
      m.value.delete(key);
      break;
    case 3:
      h.list.add(n);
      m.list.set(key, [...(m.list.get(key) ?? []), n]);
      break;
    case 4:
      h.list.clear();
      m.list.delete(key);
      break;
    case 5: {
      const uk = `u${n % 4}`;
      h.map.put(uk, n);
      const mm = m.map.get(key) ?? new Map();
      mm.set(uk, n);
      m.map.set(key, mm);
      break;
    }
    case 6: {
      const uk = `u${n % 4}`;
      h.map.remove(uk);
      const mm = m.map.get(key);
      mm?.delete(uk);
      if (mm && mm.size === 0) m.map.delete(key);
      break;
    }
  }
}

function check(s: Stores, m: Model, keys: number): void {
  for (let k = 0; k < keys; k++) {
    const key = `k${k}`;
    const h = s.at(key);
    assert.equal(h.value.value(), m.value.get(key), `value of ${key}`);
    assert.deepEqual(h.list.get(), m.list.get(key) ?? [], `list of ${key}`);
    assert.deepEqual(new Map(h.map.entries()), m.map.get(key) ?? new Map(), `map of ${key}`);
  }
}

async function snapshotAll(s: Stores, id: number, deltas?: ReturnType<KeyedBackend['trackChanges']>[]): Promise<KeyedSnapshot[]> {
  const jobs = s.stores.map((st, i) => st.snapshot(id, deltas?.[i].cut(id)));
  return Promise.all(jobs.map((j) => j.run()));
}

describe('LMDB keyed state backend', () => {
  it('reads and writes like the model through a cache 30 times smaller than the state', async () => {
    const keys = 2000;
    const s = new Stores([lmdb(0, 1)]);
    const m = emptyModel();
    const r = prng(7);
    for (let i = 0; i < 30_000; i++) {
      step(s, m, r, keys);
      // As the run loop does: write-backs commit on lmdb-js's thread while it runs.
      if (i % 200 === 0) await new Promise((res) => setTimeout(res, 1));
    }
    check(s, m, keys);
    const store = s.stores[0] as LmdbKeyedStore;
    assert.ok(store.evictions > 10, `the cache was evicted (${store.evictions} times)`);
    await store.dispose();
  });

  for (const [from, to] of [
    ['lmdb', 'heap'],
    ['heap', 'lmdb'],
    ['lmdb', 'lmdb'],
  ] as const) {
    it(`a ${from} snapshot taken while the store keeps changing restores into ${to} at another parallelism, base + deltas included`, async () => {
      const keys = 600;
      const make = (kind: 'lmdb' | 'heap', p: number) => Array.from({ length: p }, (_, i) => (kind === 'lmdb' ? lmdb(i, p) : heap(i, p)));
      const s = new Stores(make(from, 2));
      const logs = s.stores.map((st) => st.trackChanges());
      const m = emptyModel();
      const r = prng(from.length * 31 + to.length);
      for (let i = 0; i < 5000; i++) step(s, m, r, keys);
      // Base: a full snapshot; the log's first generation is cut so deltas start from here.
      logs.forEach((l) => l.cut(1));
      logs.forEach((l) => l.confirm(1));
      const baseJobs = s.stores.map((st) => st.snapshot(1, undefined));
      const atBase = cloneModel(m);
      // The record loop keeps going while the base is written.
      for (let i = 0; i < 2000; i++) step(s, m, r, keys);
      const base = await Promise.all(baseJobs.map((j) => j.run()));
      const atDelta1 = cloneModel(m);
      const delta1 = await snapshotAll(s, 2, logs);
      logs.forEach((l) => l.confirm(2));
      for (let i = 0; i < 300; i++) step(s, m, r, keys);
      const d2Jobs = s.stores.map((st, i) => st.snapshot(3, logs[i].cut(3)));
      const atDelta2 = cloneModel(m);
      for (let i = 0; i < 2000; i++) step(s, m, r, keys);
      const delta2 = await Promise.all(d2Jobs.map((j) => j.run()));

      for (const [layers, expected] of [
        [[base], atBase],
        [[base, delta1], atDelta1],
        [[base, delta1, delta2], atDelta2],
      ] as const) {
        for (const p2 of [1, 3]) {
          const target = new Stores(make(to, p2));
          for (const st of target.stores) {
            restoreKeyedChains(
              st,
              base.map((_, old) => layers.map((l) => l[old])),
            );
          }
          check(target, expected, keys);
          for (const st of target.stores) await st.dispose();
        }
      }
      // A delta holds only the changes: much smaller than the base.
      const bytes = (snaps: KeyedSnapshot[]) => snaps.reduce((n, x) => n + x.data.byteLength, 0);
      assert.ok(bytes(delta1) > 0 && bytes(delta1) < bytes(base), `delta ${bytes(delta1)} < base ${bytes(base)}`);
      for (const st of s.stores) await st.dispose();
    });
  }

  // A cache that holds every key (deltas from the barrier's write-back alone) and one far too
  // small (background write-backs between barriers, read back at the barrier).
  for (const cacheBytes of [64 << 20, 64 * 160]) {
    it(`cache ${cacheBytes} B: with the previous checkpoint unconfirmed a delta includes its delta; with more unconfirmed, or after a full one, it comes back full and rebased; each restores exactly on its base`, async () => {
      const keys = 800;
      const s = new Stores([lmdb(0, 1, cacheBytes)]);
      const [log] = s.stores.map((st) => st.trackChanges());
      const m = emptyModel();
      const r = prng(99);
      for (let i = 0; i < 3000; i++) step(s, m, r, keys);
      log.cut(1);
      const [base] = await Promise.all(s.stores.map((st) => st.snapshot(1, undefined).run()));
      for (let i = 0; i < 1000; i++) step(s, m, r, keys);
      // Checkpoint 1 is not confirmed: what changed since the base is more than this barrier's write-back.
      const atRebased = cloneModel(m);
      const [rebased] = await snapshotAll(s, 2, [log]);
      assert.equal(rebased.rebased, true, 'marked rebased');
      log.confirm(2);
      for (let i = 0; i < 500; i++) step(s, m, r, keys);
      const atDelta = cloneModel(m);
      const [delta] = await snapshotAll(s, 3, [log]);
      assert.notEqual(delta.rebased, true, 'a delta again');
      // Checkpoint 3 unconfirmed at barrier 4: delta 4 must hold 3's changes too (base: 2).
      for (let i = 0; i < 500; i++) step(s, m, r, keys);
      const atMerged = cloneModel(m);
      const [merged] = await snapshotAll(s, 4, [log]);
      assert.notEqual(merged.rebased, true, 'the previous delta merged in');
      // 3 and 4 both unconfirmed at barrier 5: full again.
      for (let i = 0; i < 300; i++) step(s, m, r, keys);
      const atFull = cloneModel(m);
      const [full] = await snapshotAll(s, 5, [log]);
      assert.equal(full.rebased, true, 'two unconfirmed: rebased');
      for (const [layers, expected] of [
        [[rebased], atRebased],
        [[rebased, delta], atDelta],
        [[rebased, merged], atMerged],
        [[full], atFull],
      ] as const) {
        const target = new Stores([heap(0, 1)]);
        restoreKeyedChains(target.stores[0], [[...layers]]);
        check(target, expected, keys);
      }
      // The rebased snapshot is a full one: it holds every key, not just the changes.
      assert.ok(rebased.data.byteLength > base.data.byteLength / 2, `rebased ${rebased.data.byteLength} B, base ${base.data.byteLength} B`);
      const store = s.stores[0] as LmdbKeyedStore;
      if (cacheBytes > 1 << 20) assert.equal(store.evictions, 0, 'every key stayed cached');
      else assert.ok(store.evictions > 0, 'keys left the cache');
      for (const st of s.stores) await st.dispose();
    });
  }

  // Incremental barriers with no write-back in flight put their changes in the delta only and
  // hold them in the cache; cache pressure writes them to LMDB, and a full snapshot of a cache
  // that holds every key is taken from the cache. A cache holding every key (LMDB never
  // written), one a tenth of the state (held entries written back and evicted between
  // barriers, full snapshots scanned from LMDB), and full mode; with local recovery every
  // barrier writes back and names its checkpoint, without it none does while the cache holds
  // every key.
  for (const { cacheBytes, incremental, localRecovery } of [
    { cacheBytes: 64 << 20, incremental: true, localRecovery: false },
    { cacheBytes: 64 * 160 * 4, incremental: true, localRecovery: false },
    { cacheBytes: 64 << 20, incremental: false, localRecovery: false },
    { cacheBytes: 64 << 20, incremental: false, localRecovery: true },
    { cacheBytes: 64 << 20, incremental: true, localRecovery: true },
  ]) {
    it(`${incremental ? 'incremental' : 'full'}, cache ${cacheBytes} B, local recovery ${localRecovery ? 'on' : 'off'}: every snapshot restores exactly the barrier-time state; LMDB written only where expected`, async () => {
      const keys = 800;
      const roomy = cacheBytes > 1 << 20;
      const path = join(root, `env-${++envSeq}`);
      const open = (resumeAt?: number, local = localRecovery) =>
        new LmdbKeyedStore({
          path,
          rangeStart: 0,
          rangeEnd: MAXP - 1,
          cacheBytes,
          operatorUid: 'count',
          subtask: 0,
          localRecovery: local,
          resumeAt,
        });
      let store = open();
      let s = new Stores([store]);
      const log = incremental ? store.trackChanges() : undefined;
      const m = emptyModel();
      const r = prng(cacheBytes % 1000);
      const steps = async (n: number) => {
        for (let i = 0; i < n; i++) {
          step(s, m, r, keys);
          if (i % 100 === 0) await new Promise((res) => setTimeout(res, 1));
        }
      };
      let chain: KeyedSnapshot[] = [];
      const at: Model[] = [];
      for (let id = 1; id <= 13; id++) {
        await steps(400 + Math.floor(r() * 800));
        // Odd barriers find no write-back in flight (they hold their changes), even ones may.
        if (id % 2 === 1) await store.writeBacksSettled();
        const changed = log?.cut(id);
        // As the checkpointer: a full base first and every fourth checkpoint, deltas between.
        const full = chain.length === 0 || id % 4 === 0 || !incremental;
        const job = store.snapshot(id, full ? undefined : changed);
        at[id] = cloneModel(m);
        // The record loop goes on before the snapshot is read: it must not see these writes.
        await steps(300);
        const snap = await job.run();
        log?.confirm(id);
        if (full || snap.rebased === true) chain = [snap];
        else chain.push(snap);
        const target = new Stores([heap(0, 1)]);
        restoreKeyedChains(target.stores[0], [[...chain]]);
        check(target, at[id], keys);
      }
      // Roomy: every barrier holds (full ones too: their snapshot comes from the cache); tight:
      // at least the odd delta barriers (3, 5, …, 13).
      if (incremental && !localRecovery)
        assert.ok(store.heldBarriers >= (roomy ? 13 : 6), `${store.heldBarriers} barriers held their changes`);
      if (roomy) assert.equal(store.evictions, 0, 'every key stayed cached');
      else assert.ok(store.evictions > 0, 'held entries were written back under pressure and left the cache');
      // Every key cached, no local recovery: no barrier wrote LMDB (nothing else fills 64 MB).
      if (roomy) assert.equal(store.flushes, localRecovery ? 13 : 0, 'write-backs');
      await store.dispose();
      // With local recovery checkpoint 13 wrote back and named itself; without it LMDB is at
      // no checkpoint, and a restart never reopens it.
      for (const [id, local] of [
        [13, true],
        [12, true],
        [13, false],
      ] as const) {
        store = open(id, local);
        s = new Stores([store]);
        if (roomy)
          assert.equal(
            store.recoveredLocally,
            localRecovery && local && id === 13,
            `local recovery at ${id} (${local ? 'asked' : 'not asked'})`,
          );
        if (store.recoveredLocally) check(s, at[id], keys);
        await store.dispose();
      }
    });
  }

  // Numbers under number keys reach the delta through the number log (number-log.ts), packed on
  // the packer thread at 30k keys. With a cache a sixth of the state (6k keys, packed on the
  // loop), background write-backs take keys between barriers and the barrier reads those
  // groups' values instead.
  for (const { cacheBytes, keys } of [
    { cacheBytes: 64 << 20, keys: 30_000 },
    { cacheBytes: 64 << 10, keys: 6_000 },
  ])
    it(`${keys} keys, cache ${cacheBytes} B: an incremental barrier that holds its changes: numbers from the number log, removals and other values merged in, exact while the store keeps changing`, async () => {
      const roomy = cacheBytes > 1 << 20;
      const store = lmdb(0, 1, cacheBytes);
      const log = store.trackChanges();
      const sum = new ValueStateHandle<number>(store, store.register('sum', 'value'));
      const name = new ValueStateHandle<string>(store, store.register('name', 'value'));
      const model = new Map<number, { sum?: number; name?: string }>();
      const r = prng(8);
      const write = async (n: number) => {
        for (let i = 0; i < n; i++) {
          // As the run loop does: write-backs commit while it runs.
          if (i % 2000 === 1999) await new Promise((res) => setImmediate(res));
          const k = Math.floor(r() * keys);
          store.setCurrentKey(k, keyGroupFor(k, MAXP));
          const e = model.get(k) ?? {};
          const x = r();
          if (x < 0.03) {
            sum.clear();
            delete e.sum;
          } else if (x < 0.06) {
            name.update(`n${i}`);
            e.name = `n${i}`;
          } else {
            // Integers and doubles, negative too: every msgpack number form.
            const v = (e.sum ?? 0) + (r() < 0.5 ? Math.floor(r() * 70_000) - 1000 : r() - 0.5);
            sum.update(v);
            e.sum = v;
          }
          model.set(k, e);
        }
      };
      const expectChain = (chain: KeyedSnapshot[], expected: Map<number, { sum?: number; name?: string }>) => {
        const target = heap(0, 1);
        const ts = new ValueStateHandle<number>(target, target.register('sum', 'value'));
        const tn = new ValueStateHandle<string>(target, target.register('name', 'value'));
        restoreKeyedChains(target, [chain]);
        for (let k = 0; k < keys; k++) {
          target.setCurrentKey(k, keyGroupFor(k, MAXP));
          const e = expected.get(k) ?? {};
          if (ts.value() !== e.sum || tn.value() !== e.name)
            assert.fail(`key ${k}: restored ${ts.value()}, ${tn.value()}; expected ${e.sum}, ${e.name}`);
        }
      };
      await write(keys * 2);
      log.cut(1);
      const base = await store.snapshot(1, undefined).run();
      log.confirm(1);
      const chain = [base];
      for (let id = 2; id <= 3; id++) {
        await write((keys * 5) / 3); // about 80 % of the keys' sums changed (30k keys: a delta packed off the loop)
        await store.writeBacksSettled(); // so that the barrier holds its changes
        const changed = log.cut(id);
        const expected = structuredClone(model);
        const job = store.snapshot(id, changed);
        await write((keys * 2) / 3);
        const delta = await job.run();
        log.confirm(id);
        assert.notEqual(delta.rebased, true, 'a delta');
        chain.push(delta);
        expectChain(chain, expected);
      }
      if (roomy) {
        assert.equal(store.heldBarriers, 3, 'every barrier held its changes');
        assert.equal(store.flushes, 0, 'nothing written to LMDB');
      } else {
        assert.ok(store.heldBarriers >= 2, `${store.heldBarriers} barriers held their changes`);
        assert.ok(
          store.evictions > 0 && store.flushes > 0,
          `keys left the cache (${store.evictions} evictions, ${store.flushes} write-backs)`,
        );
      }
      await store.dispose();
    });

  it('a full snapshot from a cache of numbers (packed on the packer thread) restores exactly, while the store keeps changing', async () => {
    const keys = 15_000;
    const store = lmdb(0, 1, 64 << 20);
    const sum = new ValueStateHandle<number>(store, store.register('sum', 'value'));
    const count = new ValueStateHandle<number>(store, store.register('count', 'value'));
    const model = new Map<number, [number, number]>();
    const r = prng(5);
    const write = (n: number) => {
      for (let i = 0; i < n; i++) {
        const k = Math.floor(r() * keys);
        store.setCurrentKey(k, keyGroupFor(k, MAXP));
        const v = r() < 0.5 ? Math.floor(r() * 1000) : r() * 1e6 - 5e5;
        const [s0, c0] = model.get(k) ?? [0, 0];
        if (r() < 0.02) {
          sum.clear();
          count.clear();
          model.delete(k);
          continue;
        }
        sum.update(s0 + v);
        count.update(c0 + 1);
        model.set(k, [s0 + v, c0 + 1]);
      }
    };
    write(60_000);
    const expected = new Map(model);
    const job = store.snapshot(1, undefined);
    write(20_000);
    const snap = await job.run();
    const target = heap(0, 1);
    const ts = new ValueStateHandle<number>(target, target.register('sum', 'value'));
    const tc = new ValueStateHandle<number>(target, target.register('count', 'value'));
    restoreKeyedChains(target, [[snap]]);
    for (let k = 0; k < keys; k++) {
      target.setCurrentKey(k, keyGroupFor(k, MAXP));
      const got = ts.value() === undefined && tc.value() === undefined ? undefined : [ts.value(), tc.value()];
      assert.deepEqual(got, expected.get(k), `key ${k}`);
    }
    await store.dispose();
  });
});
