// test-lane: pair
/**
 * Per-entry copy-on-write of the heap backend's numeric tables (core/state/heap/numeric-slots.ts)
 * against a model: seeded random puts and removes on several number-keyed tables across key
 * groups, with the key space widening so tables grow (rehash into new buffers) while snapshots
 * are read. Each snapshot is read by the real packer thread while this loop keeps writing;
 * full snapshots and incremental deltas, some checkpoints aborted (their changes must ride in
 * the next delta). Every snapshot, restored into a fresh store (on Maps), must hold exactly the
 * model's state at its barrier, kept here in plain Maps.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HeapKeyedStore } from '../../core/state/heap/heap-keyed-store.js';
import { LmdbKeyedStore } from '../../core/state/lmdb/lmdb-keyed-store.js';
import { NUMBER_RUNS_VERSION } from '../../core/state/number-runs.js';
import { PACK_OFF_THREAD_MIN_ENTRIES } from '../../core/state/heap/heap-snapshot.js';
import { stopPackerThread } from '../../core/state/heap/snapshot-packer.js';
import { keyGroupFor } from '../../core/state/key-groups.js';
import { ValueStateHandle } from '../../core/state/keyed-state.js';
import { restoreKeyedChains, type KeyedSnapshot } from '../../core/state/snapshot.js';
import { prng } from '../helpers/prng.js';

const MAXP = 32;
const TABLES = ['sum', 'count', 'last'];
/** Writes between two barriers, and while a snapshot is read (at most: until the packer is done). */
const WRITES_BETWEEN = 6_000;
const WRITES_DURING = 30_000;
const CHECKPOINTS = 10;

type Model = Map<number, number>[];

function copyModel(m: Model): Model {
  return m.map((t) => new Map(t));
}

/** What a snapshot chain restores to, read back table by table (keys normalised as a Map does). */
function restored(chain: KeyedSnapshot[]): Model {
  const fresh = new HeapKeyedStore(0, MAXP - 1, false);
  restoreKeyedChains(fresh, [chain]);
  return TABLES.map((name) => {
    const t = fresh.register(name, 'value');
    const out = new Map<number, number>();
    for (let kg = 0; kg < MAXP; kg++) for (const [k, v] of fresh.keyGroupTable(t, kg)) out.set(k as number, v as number);
    return out;
  });
}

function assertSame(actual: Model, expected: Model, what: string): void {
  TABLES.forEach((name, t) => {
    const a = [...actual[t]].sort((x, y) => x[0] - y[0]);
    const e = [...expected[t]].sort((x, y) => x[0] - y[0]);
    assert.deepEqual(a, e, `${what}, table ${name}`);
  });
}

async function run(seed: number, incremental: boolean): Promise<{ preImages: number; writesAfterScan: number }> {
  const rand = prng(seed);
  const store = new HeapKeyedStore(0, MAXP - 1, true);
  const handles = TABLES.map((name) => new ValueStateHandle<number>(store, store.register(name, 'value')));
  const log = incremental ? store.trackChanges() : undefined;
  const model: Model = TABLES.map(() => new Map());
  // The key space widens as the run goes on: new keys make the tables grow mid-snapshot.
  let keySpace = PACK_OFF_THREAD_MIN_ENTRIES;
  const write = () => {
    const t = Math.floor(rand() * TABLES.length);
    // Mostly a hot tenth of the keys (written again during a snapshot), some fractional and negative.
    const r = rand();
    let key = Math.floor((r < 0.5 ? rand() * 0.1 : rand()) * keySpace);
    if (r > 0.97) key = -key - 0.5;
    store.setCurrentKey(key, keyGroupFor(key, MAXP));
    if (rand() < 0.2) {
      handles[t].clear();
      model[t].delete(key);
    } else {
      const v = rand() < 0.5 ? (handles[t].value() ?? 0) + 1 : rand() * 1e6 - 5e5;
      handles[t].update(v);
      model[t].set(key, v);
    }
  };
  for (let i = 0; i < 4 * PACK_OFF_THREAD_MIN_ENTRIES; i++) write();
  let chain: KeyedSnapshot[] | undefined;
  for (let id = 1; id <= CHECKPOINTS; id++) {
    for (let i = 0; i < WRITES_BETWEEN; i++) write();
    keySpace = Math.floor(keySpace * 1.15);
    const expected = copyModel(model);
    const changed = log?.cut(id);
    const delta = chain !== undefined && changed !== undefined ? changed : undefined;
    const job = store.snapshot(id, delta);
    // The packer thread reads the tables now, while this loop writes on (until it is done or enough was written).
    const before = store.clock.writesAfterScan;
    for (let i = 0; i < WRITES_DURING && store.clock.writesAfterScan === before; i++) write();
    const snap = await job.run();
    const aborted = incremental && rand() < 0.3;
    const layers = delta !== undefined ? [...chain!, snap] : [snap];
    assertSame(restored(layers), expected, `seed ${seed}, ${delta !== undefined ? 'delta' : 'full'} snapshot ${id}`);
    if (aborted) continue;
    log?.confirm(id);
    chain = layers;
  }
  return { preImages: store.clock.preImages, writesAfterScan: store.clock.writesAfterScan };
}

describe('heap numeric tables: per-entry copy-on-write against a model', () => {
  after(() => stopPackerThread());

  it('full snapshots read by the packer thread while writes go on restore the barrier-time state', async () => {
    const seen = await run(11, false);
    // The reads really overlapped the writes: entries were copied before the packer read them, and it finished while the loop wrote.
    assert.ok(seen.preImages > 0, 'no write came before the packer read its entry');
    assert.ok(seen.writesAfterScan > 0, 'the packer never finished while the loop was writing');
  });

  it('incremental chains (some checkpoints aborted) restore the barrier-time state', async () => {
    const seen = await run(12, true);
    assert.ok(seen.preImages > 0 && seen.writesAfterScan > 0);
  });

  it('incremental with skewed keys: tables of key groups not written since the base are skipped, and those written only just after it are not', async () => {
    const rand = prng(14);
    const store = new HeapKeyedStore(0, MAXP - 1, true);
    const handles = TABLES.map((name) => new ValueStateHandle<number>(store, store.register(name, 'value')));
    const log = store.trackChanges();
    const model: Model = TABLES.map(() => new Map());
    // Keys by key group, so that an interval can write a few groups only.
    const byGroup: number[][] = Array.from({ length: MAXP }, () => []);
    for (let k = 0; k < 2 * PACK_OFF_THREAD_MIN_ENTRIES; k++) byGroup[keyGroupFor(k, MAXP)].push(k);
    const write = (groups: number[]) => {
      const keys = byGroup[groups[Math.floor(rand() * groups.length)]];
      const key = keys[Math.floor(rand() * keys.length)];
      const t = Math.floor(rand() * TABLES.length);
      store.setCurrentKey(key, keyGroupFor(key, MAXP));
      if (rand() < 0.2) {
        handles[t].clear();
        model[t].delete(key);
      } else {
        handles[t].update(rand() * 1e6);
        model[t].set(key, handles[t].value()!);
      }
    };
    const all = byGroup.map((_, kg) => kg);
    for (let i = 0; i < 4 * PACK_OFF_THREAD_MIN_ENTRIES; i++) write(all);
    let chain = [await store.snapshot(1, log.cut(1)).run()];
    log.confirm(1);
    for (let id = 2; id <= 7; id++) {
      // Two groups before the barrier; during the read, two others (they belong to the next delta).
      const before = [Math.floor(rand() * MAXP), Math.floor(rand() * MAXP)];
      for (let i = 0; i < 3000; i++) write(before);
      // And a third group whose only change is removals (a tombstone is a write too).
      for (const key of byGroup[Math.floor(rand() * MAXP)].slice(0, 50)) {
        store.setCurrentKey(key, keyGroupFor(key, MAXP));
        handles[0].clear();
        model[0].delete(key);
      }
      const expected = copyModel(model);
      const job = store.snapshot(id, log.cut(id));
      const during = [Math.floor(rand() * MAXP), Math.floor(rand() * MAXP)];
      for (let i = 0; i < 3000; i++) write(during);
      const layers = [...chain, await job.run()];
      assertSame(restored(layers), expected, `delta ${id}`);
      if (id % 3 === 0) continue; // aborted: its changes ride in the next delta
      log.confirm(id);
      chain = layers;
    }
  });

  it('a table that meets a non-number moves to Maps mid-snapshot and stays exact', async () => {
    const store = new HeapKeyedStore(0, MAXP - 1, true);
    const sum = new ValueStateHandle<unknown>(store, store.register('sum', 'value'));
    const log = store.trackChanges();
    const model = new Map<number, unknown>();
    for (let k = 0; k < PACK_OFF_THREAD_MIN_ENTRIES * 2; k++) {
      store.setCurrentKey(k, keyGroupFor(k, MAXP));
      sum.update(k * 2);
      model.set(k, k * 2);
    }
    const first = await store.snapshot(1, log.cut(1)).run();
    log.confirm(1);
    for (let k = 0; k < 1000; k++) {
      store.setCurrentKey(k, keyGroupFor(k, MAXP));
      sum.update(k * 3);
      model.set(k, k * 3);
    }
    const atBarrier = new Map(model);
    const job = store.snapshot(2, log.cut(2));
    // After the barrier: an object value moves the table to Maps while the packer reads the numbers.
    store.setCurrentKey(5, keyGroupFor(5, MAXP));
    sum.update({ n: 1 });
    model.set(5, { n: 1 });
    for (let k = 10; k < 20; k++) {
      store.setCurrentKey(k, keyGroupFor(k, MAXP));
      sum.clear();
      model.delete(k);
    }
    assert.equal(store.isNumeric(0), false);
    const second = await job.run();
    const third = await store.snapshot(3, log.cut(3)).run();
    const read = (chain: KeyedSnapshot[]) => {
      const fresh = new HeapKeyedStore(0, MAXP - 1, false);
      restoreKeyedChains(fresh, [chain]);
      const t = fresh.register('sum', 'value');
      const out = new Map<number, unknown>();
      for (let kg = 0; kg < MAXP; kg++) for (const [k, v] of fresh.keyGroupTable(t, kg)) out.set(k as number, v);
      return out;
    };
    const sorted = (m: Map<number, unknown>) => [...m].sort((a, b) => a[0] - b[0]);
    assert.deepEqual(sorted(read([first, second])), sorted(atBarrier));
    // Checkpoint 2 unconfirmed: the next delta (on the Map table) carries everything since 1.
    assert.deepEqual(sorted(read([first, third])), sorted(model));
  });

  it('the packer thread stopped during a snapshot: that checkpoint fails, the next one holds its barrier-time state', async () => {
    const store = new HeapKeyedStore(0, MAXP - 1, true);
    const sum = new ValueStateHandle<number>(store, store.register('sum', 'value'));
    const model = new Map<number, number>();
    const put = (k: number, v: number) => {
      store.setCurrentKey(k, keyGroupFor(k, MAXP));
      sum.update(v);
      model.set(k, v);
    };
    for (let k = 0; k < PACK_OFF_THREAD_MIN_ENTRIES * 2; k++) put(k, k);
    const job = store.snapshot(1, undefined);
    for (let k = 0; k < 5000; k++) put(k, -k - 1);
    await stopPackerThread();
    await assert.rejects(
      job.run(),
      (e: Error & { code?: string }) => e.code === 'STATE_FAILED' && /snapshot packer thread/.test(e.message),
    );
    for (let k = 5000; k < 10_000; k++) put(k, -k - 1);
    const atBarrier = new Map(model);
    const next = store.snapshot(2, undefined);
    for (let k = 0; k < 10_000; k++) put(k, 7);
    const snap = await next.run();
    const fresh = new HeapKeyedStore(0, MAXP - 1, false);
    restoreKeyedChains(fresh, [[snap]]);
    const t = fresh.register('sum', 'value');
    const got = new Map<number, unknown>();
    for (let kg = 0; kg < MAXP; kg++) for (const [k, v] of fresh.keyGroupTable(t, kg)) got.set(k as number, v);
    assert.deepEqual(
      [...got].sort((a, b) => a[0] - b[0]),
      [...atBarrier].sort((a, b) => a[0] - b[0]),
    );
  });

  it('rescaled: a snapshot of number-run chunks restores into two numeric stores of half the key groups each (one also into LMDB), and back into one on Maps', async () => {
    const rand = prng(13);
    const store = new HeapKeyedStore(0, MAXP - 1, true);
    const handles = TABLES.map((name) => new ValueStateHandle<number>(store, store.register(name, 'value')));
    const model: Model = TABLES.map(() => new Map());
    for (let i = 0; i < 3 * PACK_OFF_THREAD_MIN_ENTRIES; i++) {
      const t = Math.floor(rand() * TABLES.length);
      const key = Math.floor(rand() * PACK_OFF_THREAD_MIN_ENTRIES);
      store.setCurrentKey(key, keyGroupFor(key, MAXP));
      if (rand() < 0.2) {
        handles[t].clear();
        model[t].delete(key);
      } else {
        handles[t].update(i);
        model[t].set(key, i);
      }
    }
    const snap = await store.snapshot(1, undefined).run();
    assert.ok(
      snap.index.length > 0 && snap.index.every(([, at]) => snap.data[at + 1] === NUMBER_RUNS_VERSION),
      'every chunk is a number-run chunk',
    );
    const halves = [new HeapKeyedStore(0, MAXP / 2 - 1, true), new HeapKeyedStore(MAXP / 2, MAXP - 1, true)];
    for (const half of halves) restoreKeyedChains(half, [[snap]]);
    // The upper half into LMDB too (a small cache: most values read back from the environment).
    const dir = mkdtempSync(join(tmpdir(), 'eddy-numeric-model-'));
    const lmdb = new LmdbKeyedStore({
      path: join(dir, 'env'),
      rangeStart: MAXP / 2,
      rangeEnd: MAXP - 1,
      cacheBytes: 64 * 160,
      operatorUid: 'model',
      subtask: 1,
    });
    try {
      restoreKeyedChains(lmdb, [[snap]]);
      TABLES.forEach((name, t) => {
        const h = new ValueStateHandle<number>(lmdb, lmdb.register(name, 'value'));
        for (let key = 0; key < PACK_OFF_THREAD_MIN_ENTRIES; key++) {
          const kg = keyGroupFor(key, MAXP);
          if (kg < MAXP / 2) continue;
          lmdb.setCurrentKey(key, kg);
          assert.equal(h.value(), model[t].get(key), `lmdb ${name} ${key}`);
        }
      });
    } finally {
      await lmdb.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
    // Every key reads back through the handles of the half that owns its key group.
    TABLES.forEach((name, t) => {
      for (let key = 0; key < PACK_OFF_THREAD_MIN_ENTRIES; key++) {
        const kg = keyGroupFor(key, MAXP);
        const half = halves[kg < MAXP / 2 ? 0 : 1];
        half.setCurrentKey(key, kg);
        assert.equal(new ValueStateHandle<number>(half, half.register(name, 'value')).value(), model[t].get(key), `${name} ${key}`);
      }
    });
    assert.ok(halves.every((h) => TABLES.every((_, t) => h.isNumeric(t))));
    const parts = await Promise.all(halves.map((h) => h.snapshot(2, undefined).run()));
    const fresh = new HeapKeyedStore(0, MAXP - 1, false);
    restoreKeyedChains(
      fresh,
      parts.map((p) => [p]),
    );
    TABLES.forEach((name, t) => {
      const tid = fresh.register(name, 'value');
      const got: [number, number][] = [];
      for (let kg = 0; kg < MAXP; kg++) for (const [k, v] of fresh.keyGroupTable(tid, kg)) got.push([k as number, v as number]);
      assert.deepEqual(
        got.sort((a, b) => a[0] - b[0]),
        [...model[t]].sort((a, b) => a[0] - b[0]),
        name,
      );
    });
  });
});
