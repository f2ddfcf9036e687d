// test-lane: pair
/**
 * The LMDB cache's key → slot lookup (core/state/lmdb/key-index.ts): random adds, moves and
 * removals over number keys that collide in the open-addressing table (removal shifts runs
 * back), with -0, NaN, strings and other keys beside them, compared step by step with a plain
 * Map, which is what the index replaces and whose key equality it must keep (0 and -0 one key,
 * NaN one key).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KeyIndex } from '../../core/state/lmdb/key-index.js';
import { prng } from '../helpers/prng.js';

function keyOf(rand: () => number): unknown {
  const r = rand();
  // Mostly a few hundred small integers (dense runs and collisions), some of everything else.
  if (r < 0.6) return Math.floor(rand() * 400);
  if (r < 0.7) return Math.floor(rand() * 400) + 0.5;
  if (r < 0.75) return (Math.floor(rand() * 50) + 1) * 2 ** 40;
  if (r < 0.78) return rand() < 0.5 ? 0 : -0;
  if (r < 0.8) return NaN;
  if (r < 0.9) return `k${Math.floor(rand() * 100)}`;
  if (r < 0.95) return BigInt(Math.floor(rand() * 20));
  return [true, false, null][Math.floor(rand() * 3)];
}

describe('LMDB cache key index', () => {
  it('agrees with a Map over random adds, moves and removals', () => {
    for (let seed = 1; seed <= 4; seed++) {
      const rand = prng(seed);
      const index = new KeyIndex();
      const model = new Map<unknown, number>();
      let next = 0;
      for (let step = 0; step < 20_000; step++) {
        const key = keyOf(rand);
        const op = rand();
        const held = model.get(key);
        if (op < 0.5) {
          if (held === undefined) {
            index.add(key, next);
            model.set(key, next++);
          } else {
            index.move(key, next);
            model.set(key, next++);
          }
        } else if (op < 0.85) {
          index.delete(key);
          model.delete(key);
        }
        assert.equal(index.get(key), model.get(key) ?? -1, `seed ${seed} step ${step}: key ${String(key)}`);
        assert.equal(index.size, model.size, `seed ${seed} step ${step}: size`);
        if (step % 2000 === 1999) {
          const seen = new Map<unknown, number>();
          index.forEach((k, s) => seen.set(k, s));
          assert.deepEqual(seen, model, `seed ${seed} step ${step}: every key and slot`);
          for (const [k, s] of model) assert.equal(index.get(k), s, `seed ${seed} step ${step}: key ${String(k)}`);
        }
      }
    }
  });

  it('lists a group of number keys, or declines one with any other key', () => {
    const index = new KeyIndex();
    const model = new Map<number, number>();
    for (let k = 0; k < 1000; k++) {
      index.add(k * 7 - 300, k);
      model.set(k * 7 - 300, k);
    }
    for (let k = 0; k < 1000; k += 3) {
      index.delete(k * 7 - 300);
      model.delete(k * 7 - 300);
    }
    const keys = new Float64Array(index.size);
    const slots = new Int32Array(index.size);
    const n = index.numbersInto(keys, slots);
    assert.equal(n, model.size);
    const listed = new Map<number, number>();
    for (let i = 0; i < n; i++) listed.set(keys[i], slots[i]);
    assert.deepEqual(listed, model);
    index.add('a string', 5000);
    assert.equal(index.numbersInto(keys, slots), -1);
    index.clear();
    assert.equal(index.size, 0);
    // -0 is listed as 0, as a Map lists it.
    index.add(-0, 1);
    const listedZero: unknown[] = [];
    index.forEach((k) => listedZero.push(k));
    assert.ok(Object.is(listedZero[0], 0) && listedZero.length === 1, 'one key, 0');
    assert.equal(index.get(0), 1);
    index.clear();
    assert.equal(index.get(4), -1);
    assert.equal(index.get('a string'), -1);
  });
});
