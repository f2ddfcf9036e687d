// test-lane: pair
/**
 * Full LMDB snapshots convert each LMDB key's stored key to msgpack from its bytes
 * (packStoredKey) instead of decoding it: the bytes must decode, with a plain msgpack decoder,
 * to exactly the key that was stored, and any form it does not handle must say so (0).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Unpackr } from 'msgpackr';
import { encodeKeyCopy, packedKeyBytes, packStoredKey } from '../../core/state/lmdb/key-codec.js';

const unpackr = new Unpackr({ useRecords: false });

describe('LMDB key codec: stored keys to msgpack', () => {
  it('converts strings and unsigned 32-bit integers at every msgpack size boundary', () => {
    const keys: unknown[] = [
      '',
      'a',
      'x'.repeat(31),
      'x'.repeat(32),
      'y'.repeat(255),
      'y'.repeat(256),
      'é€😀 key',
      'z'.repeat(70_000 / 3),
      0,
      1,
      127,
      128,
      255,
      256,
      65_535,
      65_536,
      2 ** 32 - 1,
    ];
    for (const k of keys) {
      for (const table of [0, 7]) {
        const n = packStoredKey(encodeKeyCopy(513, table, k));
        assert.ok(n > 0, `key ${JSON.stringify(k).slice(0, 20)} converted`);
        assert.deepEqual(unpackr.unpack(Buffer.from(packedKeyBytes().subarray(0, n))), k);
      }
    }
  });

  it('declines every other form, which the snapshot then decodes', () => {
    for (const k of [-1, 0.5, 2 ** 32, -0.25, 12n, true, false, null, 'w'.repeat(0x10000)]) {
      assert.equal(packStoredKey(encodeKeyCopy(3, 1, k)), 0, `key ${String(k).slice(0, 20)}`);
    }
  });
});
