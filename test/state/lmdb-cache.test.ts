/**
 * The LMDB backend's cache (core/state/lmdb/slot-cache.ts): what it charges against its budget
 * is what it takes on the V8 heap (measured with a forced GC, not taken from the code's own
 * constants), it stays within that budget once write-backs have committed, and it evicts by
 * recency: keys used again and again stay cached while a stream of one-off keys passes through,
 * and it never drops a large share at once.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { after, describe, it } from 'node:test';
import { keyGroupFor } from '../../core/state/key-groups.js';
import { ValueStateHandle } from '../../core/state/keyed-state.js';
import { LmdbKeyedStore } from '../../core/state/lmdb/lmdb-keyed-store.js';

v8.setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const root = mkdtempSync(join(tmpdir(), 'eddy-lmdb-cache-'));
after(() => rmSync(root, { recursive: true, force: true }));
let seq = 0;
const MAXP = 128;
const MB = 1 << 20;

/** As the run loop does: lmdb-js commits write-backs on its own thread, seen between turns. */
const turn = () => new Promise((res) => setTimeout(res, 1));

function open(cacheBytes: number) {
  const s = new LmdbKeyedStore({
    path: join(root, `env-${++seq}`),
    rangeStart: 0,
    rangeEnd: MAXP - 1,
    cacheBytes,
    operatorUid: 'cache',
    subtask: 0,
  });
  return {
    s,
    a: new ValueStateHandle<unknown>(s, s.register('a', 'value')),
    b: new ValueStateHandle<unknown>(s, s.register('b', 'value')),
  };
}

/** Values of every shape the cache sizes differently: small integers, doubles, strings, objects. */
function valueOf(k: number): unknown {
  switch (k % 4) {
    case 0:
      return k;
    case 1:
      return k + 0.25;
    case 2:
      return `value-${k}`;
    default:
      return { k, name: `n${k}`, tags: [k, k + 1, k + 2] };
  }
}

async function heapUsed(): Promise<number> {
  await turn();
  gc();
  return process.memoryUsage().heapUsed;
}

describe('LMDB state cache', () => {
  it('charges what its entries take on the heap and holds its byte budget once write-backs commit', async () => {
    const budget = 4 * MB;
    const before = await heapUsed();
    const { s, a, b } = open(budget);
    const keys = 100_000; // about 5 times what the budget holds
    let overBudgetIdle = 0;
    for (let k = 0; k < keys; k++) {
      s.setCurrentKey(k, keyGroupFor(k, MAXP));
      a.update(valueOf(k));
      b.update(valueOf(k + 1));
      // Just after an access: with no write-back in flight nothing excuses going over.
      if (k % 1000 === 0 && s.cache.bytes > budget && (s as unknown as { writeBack: { pending: number } }).writeBack.pending === 0)
        overBudgetIdle++;
      if (k % 1000 === 999) await turn();
    }
    await s.flushForTest();
    // One more access lets the cache evict what the last write-back released.
    s.setCurrentKey(-1, keyGroupFor(-1, MAXP));
    a.value();
    const held = (await heapUsed()) - before;
    const charged = s.cache.bytes;
    console.log(
      `# budget ${budget / MB} MB: ${s.cache.count} keys cached, charged ${(charged / MB).toFixed(2)} MB, heap ${(held / MB).toFixed(2)} MB, peak charged ${(s.cache.peakBytes / MB).toFixed(2)} MB, ${s.evictions} evictions`,
    );
    assert.ok(s.evictions > keys / 2, `the state outgrew the cache (${s.evictions} evictions)`);
    assert.ok(charged <= budget, `charged ${charged} B within the budget`);
    assert.ok(held <= budget * 1.1, `the heap holds ${(held / MB).toFixed(2)} MB for an ${budget / MB} MB budget`);
    // The charge follows the heap: neither a guess far below (the old 160 B per entry) nor far above.
    assert.ok(held >= charged * 0.6 && held <= charged * 1.3 + 256 * 1024, `heap ${held} B vs charged ${charged} B`);
    assert.equal(overBudgetIdle, 0, 'over budget with no write-back in flight');
    // Every value reads back (from the cache or LMDB).
    for (let k = 0; k < keys; k += 997) {
      s.setCurrentKey(k, keyGroupFor(k, MAXP));
      assert.deepEqual([a.value(), b.value()], [valueOf(k), valueOf(k + 1)], `key ${k}`);
    }
    await s.dispose();
  });

  it('evicts by recency: hot keys stay cached while one-off keys stream through, a few at a time', async () => {
    const budget = 2 * MB;
    const { s, a, b } = open(budget);
    const hot = 1000;
    const touch = (k: number) => {
      s.setCurrentKey(k, keyGroupFor(k, MAXP));
      a.update(k);
      b.update(k);
    };
    // The least the cache held, as a share of its budget, right after an access that evicted
    // (the old cache dropped half of itself at once).
    let minAfterEvict = Infinity;
    const touchCounted = (k: number) => {
      const e = s.evictions;
      touch(k);
      if (s.evictions > e) minAfterEvict = Math.min(minAfterEvict, s.cache.bytes / budget);
    };
    let cold = 1_000_000;
    const find = (k: number) => s.cache.find(keyGroupFor(k, MAXP) - s.rangeStart, k) >= 0;
    // Hot keys not cached when used again, once the cache is full (a recency-blind cache that
    // drops its oldest insertions would miss every one of them after each of its evictions).
    let hotMisses = 0;
    let hotTouches = 0;
    for (let round = 0; round < 80; round++) {
      for (let k = 0; k < hot; k++) {
        if (round >= 30) {
          hotTouches++;
          if (!find(k)) hotMisses++;
        }
        touchCounted(k);
      }
      for (let i = 0; i < 1000; i++) touchCounted(cold++);
      await turn();
    }
    assert.ok(s.evictions > 40_000, `the cold keys outgrew the cache (${s.evictions} evictions)`);
    let hotCached = 0;
    for (let k = 0; k < hot; k++) if (find(k)) hotCached++;
    let oldColdCached = 0;
    for (let k = 1_000_000; k < 1_010_000; k++) if (find(k)) oldColdCached++;
    console.log(
      `# ${hotMisses}/${hotTouches} hot-key uses missed the cache; at the end ${hotCached}/${hot} hot keys cached, ${oldColdCached}/10000 of the first cold keys; after an eviction the cache held at least ${(minAfterEvict * 100).toFixed(1)}% of its budget`,
    );
    // CLOCK approximates recency: a sweep that must free much at once (a write-back's commit
    // lets the cache shed what it took meanwhile) can pass a hot key twice.
    assert.ok(hotMisses <= hotTouches * 0.05, `${hotMisses} of ${hotTouches} hot-key uses missed`);
    assert.ok(hotCached >= hot * 0.8, `${hotCached} of ${hot} hot keys cached at the end`);
    assert.equal(oldColdCached, 0, 'the oldest one-off keys are gone');
    // Entry by entry: an access evicts down to the budget, never a large share below it.
    assert.ok(minAfterEvict >= 0.9, `after an eviction the cache held ${(minAfterEvict * 100).toFixed(1)}% of its budget`);
    await s.dispose();
  });
});
