// test-lane: pair
/**
 * The heap backend's background capture of Map tables: key groups that hold nothing take no
 * event-loop turn (a busy task gets turns only between chunks of a frame, and 128 mostly empty
 * groups took 32 of them), and a snapshot taken that way, full or delta, restores exactly.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HeapKeyedStore } from '../../core/state/heap/heap-keyed-store.js';
import { keyGroupFor } from '../../core/state/key-groups.js';
import { ValueStateHandle } from '../../core/state/keyed-state.js';
import { restoreKeyedChains, restoreKeyedStore } from '../../core/state/snapshot.js';

const MAXP = 128;

function storeWith(entries: Map<string, { s: string }>, track = false) {
  const store = new HeapKeyedStore(0, MAXP - 1);
  const value = new ValueStateHandle<{ s: string }>(store, store.register('value', 'value'));
  const log = track ? store.trackChanges() : undefined;
  const put = (k: string, v: { s: string }) => {
    store.setCurrentKey(k, keyGroupFor(k, MAXP));
    value.update(v);
  };
  for (const [k, v] of entries) put(k, v);
  return { store, value, log, put };
}

function read(store: HeapKeyedStore, keys: Iterable<string>): Map<string, unknown> {
  const value = new ValueStateHandle<{ s: string }>(store, store.register('value', 'value'));
  const out = new Map<string, unknown>();
  for (const k of keys) {
    store.setCurrentKey(k, keyGroupFor(k, MAXP));
    const v = value.value();
    if (v !== undefined) out.set(k, v);
  }
  return out;
}

/** Event-loop turns (setImmediate callbacks) that pass while `work` runs. */
async function turnsDuring<T>(work: () => Promise<T>): Promise<{ result: T; turns: number }> {
  let turns = 0;
  let on = true;
  const tick = () => {
    if (!on) return;
    turns++;
    setImmediate(tick);
  };
  setImmediate(tick);
  const result = await work();
  on = false;
  return { result, turns };
}

/** Keys that fall in `groups` distinct key groups, `perGroup` each. */
function keysIn(groups: number, perGroup: number): string[] {
  const byGroup = new Map<number, string[]>();
  for (let i = 0; byGroup.size < groups || [...byGroup.values()].some((ks) => ks.length < perGroup); i++) {
    const k = `key-${i}`;
    const kg = keyGroupFor(k, MAXP);
    const ks = byGroup.get(kg);
    if (ks) {
      if (ks.length < perGroup) ks.push(k);
    } else if (byGroup.size < groups) byGroup.set(kg, [k]);
  }
  return [...byGroup.values()].flat();
}

describe('heap capture of sparse key groups', () => {
  it('takes no event-loop turn for empty groups, and restores exactly', async () => {
    const keys = keysIn(3, 2);
    const entries = new Map(keys.map((k, i) => [k, { s: `v${i}` }]));
    const { store } = storeWith(entries);
    const { result: snap, turns } = await turnsDuring(() => store.snapshot(1, undefined).run());
    // 3 groups with content: under one turn's worth (4); 125 empty groups took 31 more before.
    assert.ok(turns <= 2, `${turns} event-loop turns for 3 groups with content`);
    const fresh = new HeapKeyedStore(0, MAXP - 1);
    restoreKeyedStore(fresh, [{ data: snap.data, index: snap.index }]);
    assert.deepEqual(read(fresh, keys), new Map([...entries].map(([k, v]) => [k, v])));
  });

  it('still yields between groups with content', async () => {
    const keys = keysIn(40, 1);
    const { store } = storeWith(new Map(keys.map((k, i) => [k, { s: `v${i}` }])));
    const { turns } = await turnsDuring(() => store.snapshot(1, undefined).run());
    // 40 groups with content, 4 a turn.
    assert.ok(turns >= 9, `${turns} event-loop turns for 40 groups with content`);
  });

  it('a delta over sparse changes restores exactly on top of its base', async () => {
    const keys = keysIn(5, 2);
    const entries = new Map(keys.map((k, i) => [k, { s: `v${i}` }]));
    const { store, log, put } = storeWith(entries, true);
    // As a checkpoint takes it: the change log cut at the barrier, then the snapshot.
    log!.cut(1);
    const base = await store.snapshot(1, undefined).run();
    log!.confirm(1);
    // Two keys changed since the base, one of them in a group the base did not have.
    const extra = keysIn(6, 2).find((k) => !entries.has(k))!;
    put(keys[0], { s: 'changed' });
    put(extra, { s: 'new' });
    const changed = log!.cut(2)!;
    const { result: delta, turns } = await turnsDuring(() => store.snapshot(2, changed).run());
    assert.ok(turns <= 2, `${turns} event-loop turns for 2 changed groups`);
    const fresh = new HeapKeyedStore(0, MAXP - 1);
    restoreKeyedChains(fresh, [
      [
        { data: base.data, index: base.index },
        { data: delta.data, index: delta.index },
      ],
    ]);
    const expected = new Map([...entries, [keys[0], { s: 'changed' }], [extra, { s: 'new' }]]);
    assert.deepEqual(read(fresh, [...expected.keys()]), expected);
  });
});
