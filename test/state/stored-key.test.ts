// test-lane: pair
// A composite key's stored form is its JSON text (keyed-store.ts: state maps, snapshots and
// the LMDB key codec all hold it), so the hand-written text for all-number keys must equal
// JSON.stringify exactly, for every double: -0, 1e21 and beyond, tiny and fractional values;
// non-finite numbers, strings and mixed keys go through JSON.stringify itself.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { storedKey } from '../../core/state/keyed-store.js';

describe('storedKey', () => {
  it('an array of numbers is stored as JSON.stringify writes it, for any double', () => {
    for (const k of [[], [0], [-0], [1e21, -1.5e-7], [123.25, 2 ** 53 + 2], [NaN, 1], [1, Infinity], [-Infinity]])
      assert.equal(storedKey(k), JSON.stringify(k), JSON.stringify(k));
    fc.assert(
      fc.property(fc.array(fc.double(), { maxLength: 4 }), (k) => storedKey(k) === JSON.stringify(k)),
      { numRuns: 2000 },
    );
    fc.assert(fc.property(fc.array(fc.integer(), { maxLength: 3 }), (k) => storedKey(k) === JSON.stringify(k)));
  });

  it('strings, nulls, booleans and mixed arrays, and objects: JSON.stringify; primitives as they are', () => {
    const mixed = fc.array(fc.oneof(fc.double(), fc.string(), fc.constant(null), fc.boolean()), { maxLength: 4 });
    fc.assert(fc.property(mixed, (k) => storedKey(k) === JSON.stringify(k)));
    assert.equal(storedKey({ a: 1 }), '{"a":1}');
    for (const p of ['x', 3, null, true]) assert.equal(storedKey(p), p);
  });
});
