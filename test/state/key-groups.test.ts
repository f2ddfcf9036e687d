// test-lane: pair
// keyGroupFor masks for a power-of-two max parallelism instead of taking `%`: the result must
// be the key group `hash mod maxParallelism` for every key and every max parallelism, and every
// key group must own its keys at any parallelism.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { hashKey, keyGroupFor, keyGroupRange, subtaskForKeyGroup } from '../../core/state/key-groups.js';

describe('key groups', () => {
  it('keyGroupFor is hash mod maxParallelism, for powers of two and other values', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.integer(), fc.double({ noNaN: true })), fc.integer({ min: 1, max: 32768 }), (key, maxP) => {
        const h = hashKey(key);
        assert.ok(h >= 0 && h < 2 ** 32 && Number.isInteger(h));
        assert.equal(keyGroupFor(key, maxP), h % maxP);
      }),
      { numRuns: 20_000 },
    );
  });

  it('every key group lies in the range of the subtask that owns it', () => {
    for (const maxP of [1, 7, 128, 1000]) {
      for (let p = 1; p <= Math.min(maxP, 9); p++) {
        for (let kg = 0; kg < maxP; kg++) {
          const r = keyGroupRange(subtaskForKeyGroup(kg, maxP, p), maxP, p);
          assert.ok(kg >= r.start && kg <= r.end, `key group ${kg} of ${maxP} at parallelism ${p}`);
        }
      }
    }
  });
});
