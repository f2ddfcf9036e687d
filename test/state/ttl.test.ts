/**
 * State TTL on both backends: an expired value is never returned (on create-and-write it
 * expires ttl after the last write, on read-and-write after the last access), snapshots leave
 * expired values out, and the background sweep removes them from the store itself.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { HeapKeyedStore } from '../../core/state/heap/heap-keyed-store.js';
import type { KeyedBackend } from '../../core/state/keyed-backend.js';
import { keyGroupFor } from '../../core/state/key-groups.js';
import { MapStateHandle, ValueStateHandle } from '../../core/state/keyed-state.js';
import { LmdbKeyedStore } from '../../core/state/lmdb/lmdb-keyed-store.js';
import { OperatorStateStore } from '../../core/state/operator-state.js';
import { restoreKeyedChains } from '../../core/state/snapshot.js';
import { OperatorStateAccessor } from '../../core/state/state-accessor.js';
import { TtlStateView } from '../../core/state/ttl.js';

const root = mkdtempSync(join(tmpdir(), 'eddy-ttl-'));
after(() => rmSync(root, { recursive: true, force: true }));
let seq = 0;
const MAXP = 16;
const KEYS = 300;

const backends: Record<string, () => KeyedBackend> = {
  heap: () => new HeapKeyedStore(0, MAXP - 1),
  // A cache of 64 entries: most values live only in LMDB.
  lmdb: () =>
    new LmdbKeyedStore({
      path: join(root, `e${++seq}`),
      rangeStart: 0,
      rangeEnd: MAXP - 1,
      cacheBytes: 64 * 160,
      operatorUid: 'ttl',
      subtask: 0,
    }),
};

function at(store: KeyedBackend, k: number): void {
  store.setCurrentKey(k, keyGroupFor(k, MAXP));
}

/** Raw stored values (stamped) per key, read around the TTL view. */
function rawCount(store: KeyedBackend, table: number): number {
  let n = 0;
  for (let k = 0; k < KEYS; k++) {
    at(store, k);
    if (store.get(table) !== undefined) n++;
  }
  return n;
}

describe('state TTL', () => {
  for (const [name, make] of Object.entries(backends)) {
    it(`${name}: expired values are never returned, refreshed by reads only on read-and-write`, async () => {
      let now = 1000;
      const clock = () => now;
      const store = make();
      const tw = store.register('onWrite', 'value');
      const tr = store.register('onRead', 'value');
      const tm = store.register('map', 'map');
      for (const t of [tw, tr, tm]) store.enableTtl(t, clock);
      const w = new ValueStateHandle<number>(new TtlStateView(store, { ttlMs: 100 }, clock), tw);
      const r = new ValueStateHandle<number>(new TtlStateView(store, { ttlMs: 100, update: 'onReadAndWrite' }, clock), tr);
      const m = new MapStateHandle<string, number>(new TtlStateView(store, { ttlMs: 100 }, clock), tm);
      for (let k = 0; k < KEYS; k++) {
        at(store, k);
        w.update(k);
        r.update(k);
        m.put('a', k);
      }
      now = 1050;
      for (let k = 0; k < KEYS; k += 2) {
        at(store, k);
        assert.equal(w.value(), k);
        assert.equal(r.value(), k); // refreshes even keys of 'onRead' to expire at 1150
        m.put('b', k); // a later entry of the map
      }
      now = 1120;
      for (let k = 0; k < KEYS; k++) {
        at(store, k);
        assert.equal(w.value(), undefined, `onWrite ${k} expired at 1100`);
        assert.equal(r.value(), k % 2 === 0 ? k : undefined, `onRead ${k}`);
        assert.deepEqual(m.entries(), k % 2 === 0 ? [['b', k]] : [], `map ${k}`);
      }
      await store.dispose();
    });

    it(`${name}: snapshots leave expired values out and the background sweep removes them`, async () => {
      let now = 0;
      const clock = () => now;
      const store = make();
      const t = store.register('v', 'value');
      store.enableTtl(t, clock);
      const v = new ValueStateHandle<number>(new TtlStateView(store, { ttlMs: 100 }, clock), t);
      for (let k = 0; k < KEYS; k++) {
        now = k < KEYS / 3 ? 0 : 50; // a third written early
        at(store, k);
        v.update(k);
      }
      now = 120; // the early third expired, nothing read since
      const snap = await store.snapshot(1, undefined).run();
      for (const [target, mk] of Object.entries(backends)) {
        const restored = mk();
        restoreKeyedChains(restored, [[snap]]);
        const rt = restored.register('v', 'value');
        assert.equal(rawCount(restored, rt), KEYS - KEYS / 3, `snapshot restored into ${target} holds only live values`);
        await restored.dispose();
      }
      assert.equal(rawCount(store, t), KEYS, 'before the sweep the store still holds every value');
      (store as unknown as { sweepExpired(n: number): void }).sweepExpired(MAXP);
      assert.equal(rawCount(store, t), KEYS - KEYS / 3, 'the sweep removed the expired ones');
      await store.dispose();
    });
  }

  it('ctx.state with a ttl option expires in real time', async () => {
    const store = new HeapKeyedStore(0, MAXP - 1);
    const acc = new OperatorStateAccessor({ uid: 'op', displayName: 'op', subtask: 0 }, store, new OperatorStateStore());
    const s = acc.value<number>('x', { ttl: { ttlMs: 40 } });
    at(store, 1);
    s.update(7);
    assert.equal(s.value(), 7);
    await new Promise((r) => setTimeout(r, 80));
    assert.equal(s.value(), undefined);
    assert.throws(() => acc.value('y', { ttl: { ttlMs: -1 } }), /ttlMs must be a positive number/);
    await store.dispose();
  });
});
