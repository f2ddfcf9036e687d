// test-lane: pair
// The keyed timer service against a model: random registrations, deletions and watermarks over
// a few keys (5 and '5' among them) and namespaces fire exactly the timers the model says, once
// each, in time order — through its in-memory "known set" cache and after restores that
// rebuild it. Also: timers written in the earlier array-id format restore.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Unpackr } from 'msgpackr';
import { EddyError } from '../../core/failure.js';
import { keyGroupFor } from '../../core/state/key-groups.js';
import { HeapKeyedStore } from '../../core/state/heap/heap-keyed-store.js';
import { EVENT_TIMERS_TABLE, KeyedTimerService } from '../../core/time/timer-service.js';
import { TaskTime } from '../../core/time/task-time.js';
import { namespaceOf, windowOf } from '../../core/time/windows/window.js';
import { restoreKeyedChains } from '../../core/state/snapshot.js';
import { prng } from '../helpers/prng.js';

const MAX_P = 128;

function setup() {
  const store = new HeapKeyedStore(0, MAX_P - 1);
  const service = new KeyedTimerService(store, { start: 0, end: MAX_P - 1 }, new TaskTime());
  const fired: string[] = [];
  service.setCallback((time, key, ns) => {
    // The store's current key is the timer's key while it fires.
    assert.equal(store.currentKey, key);
    fired.push(`${time}/${typeof key}:${String(key)}/${String(ns)}`);
  });
  const at = (key: unknown) => store.setCurrentKey(key, keyGroupFor(key, MAX_P));
  return { store, service, fired, at };
}

describe('keyed timer service', () => {
  it('fires what a model fires, once each and in order, with 5 and "5" as two keys', () => {
    const keys: unknown[] = [5, '5', 7, 'a', 12];
    const namespaces: unknown[] = [null, namespaceOf({ start: 0, end: 100 }), namespaceOf({ start: -50, end: 50 })];
    for (const seed of [1, 2, 3, 4]) {
      const rnd = prng(seed);
      const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)];
      const { store, service, fired, at } = setup();
      // Model: the set of timers that are set.
      const model = new Map<string, { time: number; key: unknown; ns: unknown }>();
      const id = (time: number, key: unknown, ns: unknown) => `${time}/${typeof key}:${String(key)}/${String(ns)}`;
      let wm = 0;
      for (let step = 0; step < 3000; step++) {
        const r = rnd();
        const key = pick(keys);
        const ns = pick(namespaces);
        const time = wm + 1 + Math.floor(rnd() * 40);
        if (r < 0.6) {
          at(key);
          service.registerEventTimeTimer(time, ns);
          model.set(id(time, key, ns), { time, key, ns });
        } else if (r < 0.75) {
          // Delete one that is set (or a random one that is not).
          const set = [...model.values()];
          const t = set.length > 0 && rnd() < 0.8 ? pick(set) : { time, key, ns };
          at(t.key);
          service.deleteEventTimeTimer(t.time, t.ns);
          model.delete(id(t.time, t.key, t.ns));
        } else if (r < 0.97) {
          wm += Math.floor(rnd() * 15);
          const due = [...model.entries()].filter(([, t]) => t.time <= wm).sort((a, b) => a[1].time - b[1].time);
          fired.length = 0;
          service.advanceWatermark(wm);
          assert.deepEqual([...fired].sort(), due.map(([k]) => k).sort(), `seed ${seed} step ${step}: watermark ${wm}`);
          // In time order.
          const times = fired.map((f) => Number(f.split('/')[0]));
          assert.deepEqual(
            times,
            [...times].sort((a, b) => a - b),
          );
          for (const [k] of due) model.delete(k);
        } else {
          // A restore: a fresh service over the same store rebuilds its heap and forgets its cache.
          service.restore();
        }
      }
      void store;
    }
  });

  it('refuses timers written in the earlier format (array id, value 1), naming why', () => {
    const { store, service } = setup();
    // What the service wrote before ids were strings: under the reserved key of the timer's key group.
    const table = store.register(EVENT_TIMERS_TABLE, 'map');
    store.setCurrentKey('__eddy/timers', keyGroupFor(5, MAX_P));
    store.putEntry(table, [99, 5, [0, 100]], 1);
    assert.throws(
      () => service.restore(),
      (err: unknown) =>
        err instanceof EddyError &&
        err.code === 'STATE_NOT_RESTORED' &&
        /earlier version of eddy/.test(err.message) &&
        /\[99,5,\[0,100\]\]/.test(err.message),
    );
  });

  it('names windows by a string that reads back as the window', () => {
    for (const w of [
      { start: 0, end: 100 },
      { start: -50, end: 50 },
      { start: 1.5, end: 2.5 },
      { start: -Infinity, end: Infinity },
    ]) {
      assert.equal(typeof namespaceOf(w), 'string');
      assert.deepEqual(windowOf(namespaceOf(w)), w);
      // The cache hands back the same text for the same window.
      assert.equal(namespaceOf({ ...w }), namespaceOf(w));
    }
  });
});

describe('timers in incremental heap snapshots', () => {
  it('a new timer puts only itself in the delta, and the chain restores every timer', async () => {
    const { store, service, fired, at } = setup();
    const changes = store.trackChanges();
    const keys = Array.from({ length: 400 }, (_, i) => `k${i}`);
    for (const [i, k] of keys.entries()) {
      at(k);
      service.registerEventTimeTimer(1000 + i);
    }
    changes.cut(1);
    const base = await store.snapshot(1, undefined).run();
    changes.confirm(1);
    at('k7');
    service.registerEventTimeTimer(5000);
    const delta = await store.snapshot(2, changes.cut(2)).run();
    // Decoded with msgpackr alone: one chunk, a version 4 delta whose entry changes are [table, storedKey, puts, removed].
    const kg = keyGroupFor('k7', MAX_P);
    assert.deepEqual(
      delta.index.map(([g]) => g),
      [kg],
    );
    const msg = new Unpackr({ useRecords: true, useBigIntExtension: true }).unpack(delta.data) as unknown[];
    assert.equal(msg[0], 4);
    assert.deepEqual(msg[2], [[EVENT_TIMERS_TABLE, 'map']]);
    assert.deepEqual([msg[3], msg[4], msg[5]], [[], [], []], 'nothing set, deleted or appended whole');
    const [ref, , puts, removed] = msg[6] as [number, unknown, [unknown, unknown][], unknown[]];
    assert.equal(ref, 0);
    assert.deepEqual(
      puts.map(([, v]) => v),
      [[5000, 'k7', null]],
      'the new timer only',
    );
    assert.deepEqual(removed, []);
    // The chain restores all 401 timers, which fire in time order.
    const back = setup();
    restoreKeyedChains(back.store, [[base, delta]]);
    back.service.restore();
    back.service.advanceWatermark(10_000);
    assert.equal(back.fired.length, 401);
    assert.equal(back.fired[0], '1000/string:k0/null');
    assert.equal(back.fired[400], '5000/string:k7/null');
    assert.equal(fired.length, 0);
  });
});
