// test-lane: pair
/**
 * Keyed and operator state snapshots: whatever the old and new parallelism, restored state is
 * exactly the state at the snapshot, each key in the subtask its key group says; operator lists
 * are dealt (split) or unioned, broadcast maps copied; and a snapshot is frozen the moment it is
 * taken, whatever the store does next.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MSGPACK_NUMBER_EDGES } from '../helpers/msgpack-number-edges.js';
import fc from 'fast-check';
import { Packr } from 'msgpackr';
import { EddyError } from '../../core/failure.js';
import { HeapKeyedStore } from '../../core/state/heap/heap-keyed-store.js';
import { keyGroupFor, keyGroupRange, subtaskForKeyGroup } from '../../core/state/key-groups.js';
import { ListStateHandle, MapStateHandle, ReducingStateHandle, ValueStateHandle } from '../../core/state/keyed-state.js';
import { storedKey } from '../../core/state/keyed-store.js';
import { OperatorStateStore } from '../../core/state/operator-state.js';
import {
  restoreKeyedStore,
  restoreOperatorState,
  snapshotKeyedStore,
  snapshotOperatorState,
  type KeyedSnapshot,
} from '../../core/state/snapshot.js';
import {
  decodeKeyGroupChunk,
  encodeKeyGroupChunk,
  encodeKeyGroupChunkInPlace,
  encodeNumericDelta,
  encodeNumericRun,
} from '../../core/state/snapshot-format.js';
import { encodeNumberRuns } from '../../core/state/number-runs.js';

// ---------------------------------------------------------------------------------------------
// A subtask's keyed state with the handles user functions would use.

class Subtask {
  readonly store: HeapKeyedStore;
  private handles?: {
    value: ValueStateHandle<unknown>;
    list: ListStateHandle<unknown>;
    map: MapStateHandle<unknown, unknown>;
    sum: ReducingStateHandle<number>;
  };

  constructor(
    readonly index: number,
    readonly maxParallelism: number,
    readonly parallelism: number,
  ) {
    const r = keyGroupRange(index, maxParallelism, parallelism);
    this.store = new HeapKeyedStore(r.start, r.end);
  }

  /** Handles are made on first use, so table ids differ between subtasks, as they would. */
  h(order: readonly string[] = ['value', 'list', 'map', 'sum']) {
    if (!this.handles) {
      const ids = new Map<string, number>();
      const kinds = { value: 'value', list: 'list', map: 'map', sum: 'reducing' } as const;
      for (const name of order) ids.set(name, this.store.register(name, kinds[name as keyof typeof kinds]));
      this.handles = {
        value: new ValueStateHandle(this.store, ids.get('value')!),
        list: new ListStateHandle(this.store, ids.get('list')!),
        map: new MapStateHandle(this.store, ids.get('map')!),
        sum: new ReducingStateHandle<number>(this.store, ids.get('sum')!, (a, b) => a + b),
      };
    }
    return this.handles;
  }

  setKey(key: unknown): void {
    this.store.setCurrentKey(key, keyGroupFor(key, this.maxParallelism));
  }
}

function subtasks(maxParallelism: number, parallelism: number): Subtask[] {
  return Array.from({ length: parallelism }, (_, i) => new Subtask(i, maxParallelism, parallelism));
}

function owner(all: Subtask[], key: unknown): Subtask {
  const st = all[subtaskForKeyGroup(keyGroupFor(key, all[0].maxParallelism), all[0].maxParallelism, all.length)];
  st.setKey(key);
  return st;
}

// ---------------------------------------------------------------------------------------------
// Random operations and a plain model of what they should leave behind.

type Op =
  | { k: number; op: 'vset'; v: unknown }
  | { k: number; op: 'vclear' }
  | { k: number; op: 'ladd'; v: unknown }
  | { k: number; op: 'lupdate'; vs: unknown[] }
  | { k: number; op: 'mput'; uk: unknown; v: unknown }
  | { k: number; op: 'mremove'; uk: unknown }
  | { k: number; op: 'mclear' }
  | { k: number; op: 'radd'; n: number };

const keyArb = fc.oneof(
  fc.string({ maxLength: 4 }),
  fc.integer({ min: -1000, max: 1000 }),
  fc.double({ min: -10, max: 10, noNaN: true }),
  fc.tuple(fc.string({ maxLength: 3 }), fc.integer({ min: 0, max: 9 })),
);
const valueArb = fc.oneof(
  fc.integer(),
  fc.string({ maxLength: 6 }),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.integer({ min: 0, max: 99 }), { maxLength: 3 }),
  fc.record(
    { a: fc.integer(), b: fc.string({ maxLength: 3 }), c: fc.array(fc.boolean(), { maxLength: 2 }) },
    { requiredKeys: [], noNullPrototype: true },
  ),
);
const userKeyArb = fc.oneof(
  fc.string({ maxLength: 3 }),
  fc.integer({ min: 0, max: 20 }),
  fc.tuple(fc.integer({ min: 0, max: 3 }), fc.string({ maxLength: 2 })),
);

function opsArb(poolSize: number) {
  const k = fc.integer({ min: 0, max: poolSize - 1 });
  return fc.array(
    fc.oneof(
      fc.record({ k, op: fc.constant('vset' as const), v: valueArb }),
      fc.record({ k, op: fc.constant('vclear' as const) }),
      fc.record({ k, op: fc.constant('ladd' as const), v: valueArb }),
      fc.record({ k, op: fc.constant('lupdate' as const), vs: fc.array(valueArb, { maxLength: 3 }) }),
      fc.record({ k, op: fc.constant('mput' as const), uk: userKeyArb, v: valueArb }),
      fc.record({ k, op: fc.constant('mremove' as const), uk: userKeyArb }),
      fc.record({ k, op: fc.constant('mclear' as const) }),
      fc.record({ k, op: fc.constant('radd' as const), n: fc.integer({ min: -100, max: 100 }) }),
    ),
    { maxLength: 120 },
  );
}

/** State per (key group, stored key), which is what the store distinguishes. */
interface Model {
  keys: Map<string, unknown>; // model key → a user key that maps to it
  value: Map<string, unknown>;
  list: Map<string, unknown[]>;
  map: Map<string, Map<unknown, [unknown, unknown]>>;
  sum: Map<string, number>;
}

function modelKey(key: unknown, maxParallelism: number): string {
  const sk = storedKey(key);
  return JSON.stringify([keyGroupFor(key, maxParallelism), typeof sk, String(sk)]);
}

function apply(ops: readonly Op[], pool: readonly unknown[], all: Subtask[], model: Model): void {
  for (const o of ops) {
    const key = pool[o.k];
    const mk = modelKey(key, all[0].maxParallelism);
    if (!model.keys.has(mk)) model.keys.set(mk, key);
    const h = owner(all, key).h();
    switch (o.op) {
      case 'vset':
        h.value.update(o.v);
        model.value.set(mk, structuredClone(o.v));
        break;
      case 'vclear':
        h.value.clear();
        model.value.delete(mk);
        break;
      case 'ladd':
        h.list.add(o.v);
        model.list.set(mk, [...(model.list.get(mk) ?? []), structuredClone(o.v)]);
        break;
      case 'lupdate':
        h.list.update(o.vs);
        if (o.vs.length === 0) model.list.delete(mk);
        else model.list.set(mk, structuredClone(o.vs));
        break;
      case 'mput': {
        h.map.put(o.uk, o.v);
        const m = model.map.get(mk) ?? new Map();
        m.set(storedKey(o.uk), structuredClone([o.uk, o.v]));
        model.map.set(mk, m);
        break;
      }
      case 'mremove': {
        h.map.remove(o.uk);
        const m = model.map.get(mk);
        m?.delete(storedKey(o.uk));
        if (m?.size === 0) model.map.delete(mk);
        break;
      }
      case 'mclear':
        h.map.clear();
        model.map.delete(mk);
        break;
      case 'radd':
        h.sum.add(o.n);
        model.sum.set(mk, (model.sum.get(mk) ?? 0) + o.n);
        break;
    }
  }
}

/** Everything in a set of stores, by (table, key group, stored key), checking ownership. */
function dump(all: Subtask[]): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const st of all) {
    const tables = st.store.tableDescriptors();
    for (let kg = st.store.rangeStart; kg <= st.store.rangeEnd; kg++) {
      assert.equal(subtaskForKeyGroup(kg, st.maxParallelism, all.length), st.index, `key group ${kg} is in the wrong subtask`);
      tables.forEach((t, id) => {
        for (const [sk, v] of st.store.keyGroupTable(id, kg)) {
          const k = JSON.stringify([t.name, t.kind, kg, typeof sk, String(sk)]);
          assert.ok(!out.has(k), `${k} is in two subtasks`);
          out.set(k, structuredClone(t.kind === 'map' ? [...(v as Map<unknown, unknown>)] : v));
        }
      });
    }
  }
  return out;
}

function checkAgainstModel(all: Subtask[], model: Model): void {
  for (const [mk, key] of model.keys) {
    const h = owner(all, key).h();
    assert.deepStrictEqual(h.value.value(), model.value.get(mk), `value of ${mk}`);
    assert.deepStrictEqual(h.list.get(), model.list.get(mk) ?? [], `list of ${mk}`);
    assert.deepStrictEqual(h.map.entries(), [...(model.map.get(mk)?.values() ?? [])], `map of ${mk}`);
    assert.equal(h.sum.get(), model.sum.get(mk), `sum of ${mk}`);
  }
}

function emptyModel(): Model {
  return { keys: new Map(), value: new Map(), list: new Map(), map: new Map(), sum: new Map() };
}

function restoreAll(snaps: KeyedSnapshot[], maxParallelism: number, parallelism: number, order?: string[]): Subtask[] {
  const restored = subtasks(maxParallelism, parallelism);
  for (const st of restored) {
    restoreKeyedStore(st.store, snaps);
    st.h(order);
  }
  return restored;
}

// ---------------------------------------------------------------------------------------------

describe('keyed state snapshots', () => {
  it('restore at any parallelism gives back exactly the state at the snapshot, in the owning subtasks', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 5, max: 64 }),
        fc
          .array(keyArb, { minLength: 1, maxLength: 16 })
          .chain((pool) => fc.tuple(fc.constant(pool), opsArb(pool.length), opsArb(pool.length))),
        fc.shuffledSubarray(['value', 'list', 'map', 'sum'], { minLength: 4, maxLength: 4 }),
        (p1, p2, maxParallelism, [pool, before, afterOps], order) => {
          const original = subtasks(maxParallelism, p1);
          const model = emptyModel();
          apply(before, pool, original, model);
          const expected = dump(original);
          const atSnapshot = structuredClone(model);

          const snaps = original.map((st) => snapshotKeyedStore(st.store));
          const frozen = snaps.map((s) => s.data.slice());
          snaps.forEach((s, i) => {
            assert.deepEqual(s.keyGroups, keyGroupRange(i, maxParallelism, p1));
            for (const [kg] of s.index) assert.ok(kg >= s.keyGroups.start && kg <= s.keyGroups.end);
          });

          // The store keeps changing after the barrier; the snapshot must not.
          apply(afterOps, pool, original, model);
          snaps.forEach((s, i) => assert.deepEqual(s.data, frozen[i]));

          const restored = restoreAll(snaps, maxParallelism, p2, order);
          assert.deepStrictEqual(dump(restored), expected);
          checkAgainstModel(restored, atSnapshot);

          // And the state after the extra operations survives a second round trip.
          const again = restoreAll(
            original.map((st) => snapshotKeyedStore(st.store)),
            maxParallelism,
            p2,
          );
          checkAgainstModel(again, model);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a snapshot does not change when a list is appended in place or a map entry replaced', () => {
    const [st] = subtasks(128, 1);
    const h = st.h();
    st.setKey('k');
    h.list.add({ n: 1 });
    h.map.put(['a', 1], { deep: [1, 2] });
    h.value.update({ nested: { x: 1 } });
    const snap = snapshotKeyedStore(st.store);
    const bytes = snap.data.slice();

    h.list.add({ n: 2 }); // pushes into the very array the store holds
    (h.list.get()[0] as { n: number }).n = 99;
    (h.map.get(['a', 1]) as { deep: number[] }).deep.push(3);
    h.map.put(['b', 2], 'new');
    (h.value.value() as { nested: { x: number } }).nested.x = 2;
    snapshotKeyedStore(st.store); // reuses the encoder's buffer
    assert.deepEqual(snap.data, bytes);

    const [back] = restoreAll([snap], 128, 1);
    back.setKey('k');
    assert.deepStrictEqual(back.h().list.get(), [{ n: 1 }]);
    assert.deepStrictEqual(back.h().map.entries(), [[['a', 1], { deep: [1, 2] }]]);
    assert.deepStrictEqual(back.h().value.value(), { nested: { x: 1 } });
  });

  it('decodes only the key groups a subtask owns', () => {
    const old = subtasks(16, 2);
    for (let i = 0; i < 200; i++) owner(old, `k${i}`).h().value.update(i);
    const snaps = old.map((s) => snapshotKeyedStore(s.store));
    // Damage every chunk of old subtask 1; new subtask 0 of 2 owns none of those groups.
    const broken = { ...snaps[1], data: snaps[1].data.map(() => 0xc1) };
    const fresh = subtasks(16, 2);
    restoreKeyedStore(fresh[0].store, [snaps[0], broken]);
    assert.throws(
      () => restoreKeyedStore(fresh[1].store, [snaps[0], { ...broken, source: 'chk-1/count-1.bin' }]),
      (err: unknown) => {
        assert.ok(err instanceof EddyError);
        assert.equal(err.code, 'CHECKPOINT_CORRUPT');
        assert.match(err.message, /chk-1\/count-1\.bin/);
        return true;
      },
    );
  });

  it('refuses an index that disagrees with its chunks or overlaps another part', () => {
    const old = subtasks(16, 1);
    for (let i = 0; i < 50; i++) owner(old, `k${i}`).h().value.update(i);
    const snap = snapshotKeyedStore(old[0].store);
    const [a, b] = snap.index;
    const swapped = {
      ...snap,
      index: [
        [a[0], b[1], b[2]],
        [b[0], a[1], a[2]],
      ] as typeof snap.index,
    };
    const outOfBounds = { ...snap, index: [[a[0], snap.data.byteLength - 1, 10]] as typeof snap.index };
    for (const parts of [[swapped], [outOfBounds], [snap, snap]]) {
      assert.throws(
        () => restoreKeyedStore(new HeapKeyedStore(0, 15), parts),
        (err: unknown) => {
          assert.ok(err instanceof EddyError && err.code === 'CHECKPOINT_CORRUPT', String(err));
          return true;
        },
      );
    }
  });

  it('refuses to restore a table as another kind of state', () => {
    const [st] = subtasks(8, 1);
    st.setKey('k');
    st.h().value.update(1);
    const snap = snapshotKeyedStore(st.store);
    const target = new HeapKeyedStore(0, 7);
    target.register('value', 'list');
    assert.throws(() => restoreKeyedStore(target, [snap]), /holds 'value' as value state/);
  });
});

// ---------------------------------------------------------------------------------------------

describe('operator state snapshots', () => {
  it('splits lists round-robin, unions union lists and copies broadcast maps at any parallelism', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 5 }),
        fc.array(fc.tuple(fc.array(valueArb, { maxLength: 8 }), fc.array(valueArb, { maxLength: 4 })), { minLength: 5, maxLength: 5 }),
        fc.array(fc.tuple(userKeyArb, valueArb), { maxLength: 6 }),
        (p1, p2, perSubtask, broadcastEntries) => {
          const old = perSubtask.slice(0, p1).map(([split, union]) => {
            const s = new OperatorStateStore();
            s.list('offsets', 'split').update(split);
            s.list('seen', 'union').update(union);
            s.broadcast('rules').putAll(broadcastEntries);
            return s;
          });
          const parts = old.map(snapshotOperatorState);
          const allSplit = perSubtask.slice(0, p1).flatMap(([split]) => split);
          const allUnion = perSubtask.slice(0, p1).flatMap(([, union]) => union);

          const dealt: unknown[] = [];
          for (let j = 0; j < p2; j++) {
            const s = new OperatorStateStore();
            restoreOperatorState(s, parts, j, p2);
            const mine = s.list('offsets', 'split').get();
            assert.deepStrictEqual(
              mine,
              allSplit.filter((_, i) => i % p2 === j),
            );
            dealt.push(...mine);
            assert.deepStrictEqual(s.list('seen', 'union').get(), allUnion);
            assert.deepStrictEqual(s.broadcast('rules').entries(), [...new Map(broadcastEntries)]);
          }
          assert.equal(dealt.length, allSplit.length);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('a snapshot does not change when the lists or maps change afterwards', () => {
    const s = new OperatorStateStore();
    const l = s.list<{ n: number }>('l', 'split');
    l.add({ n: 1 });
    s.broadcast<string, number[]>('b').put('x', [1]);
    const snap = snapshotOperatorState(s);
    const bytes = snap.slice();
    l.add({ n: 2 });
    l.get()[0].n = 5;
    s.broadcast<string, number[]>('b').get('x')!.push(2);
    snapshotOperatorState(s);
    assert.deepEqual(snap, bytes);

    const back = new OperatorStateStore();
    restoreOperatorState(back, [snap], 0, 1);
    assert.deepStrictEqual(back.list('l', 'split').get(), [{ n: 1 }]);
    assert.deepStrictEqual(back.broadcast('b').entries(), [['x', [1]]]);
  });

  it('refuses a list that is split in one part and union in another, and garbage', () => {
    const a = new OperatorStateStore();
    a.list('l', 'split').add(1);
    const b = new OperatorStateStore();
    b.list('l', 'union').add(2);
    const isCorrupt = (err: unknown) => err instanceof EddyError && err.code === 'CHECKPOINT_CORRUPT';
    assert.throws(
      () => restoreOperatorState(new OperatorStateStore(), [snapshotOperatorState(a), snapshotOperatorState(b)], 0, 1),
      isCorrupt,
    );
    assert.throws(() => restoreOperatorState(new OperatorStateStore(), [new Uint8Array([1, 2, 3])], 0, 1), isCorrupt);
    assert.throws(() => restoreOperatorState(new OperatorStateStore(), [], 2, 2), /subtask 2 of parallelism 2/);
  });
});

describe('numeric chunks written directly', () => {
  const edges = [...MSGPACK_NUMBER_EDGES];
  const tables: [string, 'value'][] = [
    ['sum', 'value'],
    ['count', 'value'],
  ];
  const packed = (keys: number[][], values: number[][]) => {
    const entries: number[] = [];
    keys.forEach((k, ref) => k.forEach((key, i) => entries.push(ref, key, values[ref][i])));
    return Buffer.from(encodeKeyGroupChunk(7, { tables: tables.slice(0, keys.length), entries }));
  };
  it('as number runs decode to exactly the entries and deletions given, at every number form and width, and refuse malformed runs', () => {
    // Runs narrow to the smallest integer width that holds every element (-0, 2^31 and fractions keep Float64).
    const runs: [number[], number][] = [
      [[0, 1, -128, 127], 1],
      [[-129, 5], 2],
      [[128, 0], 2],
      [[32_767, -32_768], 2],
      [[32_768, 1], 4],
      [[-32_769, 1], 4],
      [[2 ** 31 - 1, -(2 ** 31)], 4],
      [[2 ** 31, 1], 8],
      [[-0, 1], 8],
      [[0.5, 1], 8],
      [edges, 8],
      [[], 1],
    ];
    const tablesOf = runs.map((_, i): [string, 'value'] => [`t${i}`, 'value']);
    const widthsOf = (bytes: Uint8Array) => {
      const widths: number[] = [];
      // From the first run on: runs (bin 32) and the deletions' array header (fixarray or array 16).
      for (let at = bytes.indexOf(0xc6); at < bytes.length;) {
        if (bytes[at] === 0xdc) at += 3;
        else if ((bytes[at] & 0xf0) === 0x90) at += 1;
        else {
          assert.equal(bytes[at], 0xc6);
          widths.push(bytes[at + 5]);
          at += 5 + Buffer.from(bytes.buffer, bytes.byteOffset + at + 1, 4).readUInt32BE(0);
        }
      }
      return widths;
    };
    for (const delta of [false, true]) {
      // Keys and values: the same run, then the run reversed (a value run narrows on its own).
      const keys = runs.map(([r]) => Float64Array.from(r));
      const values = runs.map(([r]) => Float64Array.from([...r].reverse()));
      const deleted = delta ? runs.map(([r], i) => Float64Array.from(i % 2 === 0 ? r : [])) : undefined;
      const bytes = encodeNumberRuns(7, tablesOf, keys, values, deleted);
      const chunk = decodeKeyGroupChunk(bytes, 7);
      const entries: number[] = [];
      keys.forEach((k, ref) => k.forEach((key, i) => entries.push(ref, key, values[ref][i])));
      const deletions: number[] = [];
      deleted?.forEach((k, ref) => k.forEach((key) => deletions.push(ref, key)));
      assert.deepEqual(chunk.tables, tablesOf);
      assert.deepEqual(chunk.entries, entries); // strict: -0 and NaN as given
      assert.deepEqual(chunk.deletions, delta ? deletions : undefined);
      const widths = runs.flatMap(([, w]) => [w, w]);
      if (delta) runs.forEach(([, w], i) => widths.push(i % 2 === 0 ? w : 1));
      assert.deepEqual(widthsOf(bytes), widths);
    }
    // A run whose length is not a whole number of its elements, or a width that is not 1, 2, 4 or 8.
    const good = encodeNumberRuns(7, tablesOf.slice(0, 1), [Float64Array.from([1, 100_000])], [Float64Array.from([1.5, 2])]);
    const widthAt = good.indexOf(0xc6) + 5; // the keys run: Int32
    assert.equal(good[widthAt], 4);
    // 8: the keys run read as one Float64 key, against 2 values.
    for (const bad of [3, 8, 16]) {
      const b = Uint8Array.from(good);
      b[widthAt] = bad;
      assert.throws(
        () => decodeKeyGroupChunk(b, 7),
        (e: unknown) =>
          e instanceof EddyError &&
          e.code === 'CHECKPOINT_CORRUPT' &&
          /key group 7 has (a run of width 3|1 keys and 2 values|a run of width 16)/.test(e.message),
      );
    }
  });

  it('as deltas are byte for byte what msgpackr writes, and refuse entries that are not numbers', () => {
    for (const n of [0, 1, 5, 6, 21_845, 21_846]) {
      const entries = Array.from({ length: n * 3 }, (_, i) => (i % 3 === 0 ? i % 2 : edges[i % edges.length]));
      const deletions = Array.from({ length: (n % 9) * 2 }, (_, i) => (i % 2 === 0 ? 1 : edges[(i * 5) % edges.length]));
      const direct = encodeNumericDelta(7, tables, entries, deletions);
      assert.ok(
        direct !== undefined && Buffer.from(direct).equals(Buffer.from(encodeKeyGroupChunk(7, { tables, entries, deletions }))),
        `${n} entries`,
      );
    }
    assert.equal(encodeNumericDelta(7, tables, [0, 'k', 1], []), undefined);
    assert.equal(encodeNumericDelta(7, tables, [0, 1, 1], [0, 'k']), undefined);
  });

  it('as runs of a deduplicated write log are byte for byte what msgpackr writes for the same delta', () => {
    // Table ids 3 and 9 of a store map to refs 0 and 1 of the chunk; the run is [2, n + 2) of the arrays.
    const refOf = new Uint8Array(16);
    refOf[3] = 0;
    refOf[9] = 1;
    for (const n of [0, 1, 5, 6, 21_845, 21_846]) {
      const ids = Uint8Array.from({ length: n + 4 }, (_, i) => (i % 3 === 0 ? 9 : 3));
      const keys = Float64Array.from({ length: n + 4 }, (_, i) => edges[i % edges.length] + i);
      const values = Float64Array.from({ length: n + 4 }, (_, i) => edges[(i * 7) % edges.length]);
      const entries: number[] = [];
      for (let i = 2; i < n + 2; i++) entries.push(ids[i] === 3 ? 0 : 1, keys[i], values[i]);
      const direct = Buffer.from(encodeNumericRun(7, tables, refOf, ids, keys, values, 2, n + 2));
      assert.ok(direct.equals(Buffer.from(encodeKeyGroupChunk(7, { tables, entries, deletions: [] }))), `${n} entries`);
    }
  });
});

describe('snapshot bytes written once', () => {
  it('a heap snapshot is byte for byte its chunks as the format documents them, packed on the loop or all at once', async () => {
    // Documented: ascending key groups, each one msgpack message [1, kg, [[name, kind], …], [ref, storedKey, value, …]]
    // with records inline; the tables with state in the group in registration order; keys in insertion order;
    // map state as [[userKey, userValue], …].
    const msgpack = new Packr({ useRecords: true, useBigIntExtension: true });
    const [st] = subtasks(32, 1);
    const h = st.h(['value', 'list', 'map', 'sum']);
    const byGroup = new Map<number, { value: unknown[]; list: unknown[]; map: unknown[] }>();
    for (let i = 0; i < 300; i++) {
      const key = `key-${i}`;
      const kg = keyGroupFor(key, 32);
      let g = byGroup.get(kg);
      if (g === undefined) byGroup.set(kg, (g = { value: [], list: [], map: [] }));
      st.setKey(key);
      h.value.update({ i, name: `n${i}`, tags: [i % 3, 'x'] });
      g.value.push(key, { i, name: `n${i}`, tags: [i % 3, 'x'] });
      if (i % 2 === 0) {
        h.list.add(i);
        h.list.add(`e${i}`);
        g.list.push(key, [i, `e${i}`]);
      }
      if (i % 3 === 0) {
        h.map.put(['u', i], i * 1.5);
        h.map.put('v', null);
        g.map.push(key, [
          [['u', i], i * 1.5],
          ['v', null],
        ]);
      }
    }
    const chunks: Buffer[] = [];
    for (const kg of [...byGroup.keys()].sort((a, b) => a - b)) {
      const g = byGroup.get(kg)!;
      const tables: [string, string][] = [];
      const entries: unknown[] = [];
      for (const [name, kind, flat] of [
        ['value', 'value', g.value],
        ['list', 'list', g.list],
        ['map', 'map', g.map],
      ] as const) {
        if (flat.length === 0) continue;
        for (let i = 0; i < flat.length; i += 2) entries.push(tables.length, flat[i], flat[i + 1]);
        tables.push([name, kind]);
      }
      chunks.push(Buffer.from(msgpack.pack([1, kg, tables, entries])));
    }
    const expected = Buffer.concat(chunks);
    const loop = await st.store.snapshot(1, undefined).run();
    const atOnce = snapshotKeyedStore(st.store);
    assert.ok(Buffer.from(loop.data).equals(expected), 'packed on the loop');
    assert.ok(Buffer.from(atOnce.data).equals(expected), 'all at once');
    let offset = 0;
    const index = chunks.map((c, i): [number, number, number] => {
      offset += c.length;
      return [[...byGroup.keys()].sort((a, b) => a - b)[i], offset - c.length, c.length];
    });
    assert.deepEqual(loop.index, index);
    assert.deepEqual(atOnce.index, index);
  });

  it('chunks encoded for one thread are views written after one another, never over one another', () => {
    const tables: [string, 'value'][] = [['sum', 'value']];
    const encoders: [string, (i: number) => Uint8Array][] = [
      ['msgpack', (i) => encodeKeyGroupChunkInPlace(i, { tables, entries: [0, `k${i}`, { i, s: 'x'.repeat(i % 50) }] })],
      ['number runs', (i) => encodeNumberRuns(i, tables, [Float64Array.of(i, i + 1)], [Float64Array.of(i * 0.5, i)])],
      ['numeric delta', (i) => encodeNumericDelta(i, tables, [0, i, i * 2], [0, i + 7])!],
      ['write log run', (i) => encodeNumericRun(i, tables, [0], [0, 0], [i, i + 1], [i * 3, 5], 0, 2)],
    ];
    for (const [name, encode] of encoders) {
      // Enough chunks to fill more than one block, with other messages packed in between.
      const other = new Packr({ useRecords: true });
      const views: Uint8Array[] = [];
      const copies: Buffer[] = [];
      for (let i = 0; i < 40_000; i++) {
        const v = encode(i % 120);
        views.push(v);
        copies.push(Buffer.from(v));
        if (i % 7 === 0) other.pack({ noise: 'y'.repeat(i % 300), i });
      }
      for (let i = 0; i < views.length; i++) assert.ok(Buffer.from(views[i]).equals(copies[i]), `${name}: chunk ${i} was written over`);
      // Not copied out at their exact size: consecutive small chunks share their buffer.
      assert.equal(views[1].buffer, views[0].buffer, `${name}: a chunk was copied out`);
    }
  });
});
