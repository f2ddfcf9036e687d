// test-lane: pair
/**
 * Keyed-state chunks of plain data are written by hand (core/state/plain-pack.ts) and must be
 * the bytes msgpackr writes with the chunk options (records defined inline), so snapshots keep
 * their format and every reader: compared here with msgpackr itself, an implementation of its
 * own, over random plain values at every size boundary of numbers, strings, arrays and record
 * shapes, with each decoded back equal to the value. Values that are not plain go to msgpackr
 * (ChunkPacker) and their bytes are msgpackr's too; a chunk already returned never changes while
 * later ones are written after it, in the same block or the next.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MSGPACK_NUMBER_EDGES } from '../helpers/msgpack-number-edges.js';
import { Packr, Unpackr } from 'msgpackr';
import { PlainPacker } from '../../core/state/plain-pack.js';
import { ChunkPacker } from '../../core/state/snapshot-format.js';
import { prng } from '../helpers/prng.js';

const OPTIONS = { useRecords: true, useBigIntExtension: true };
const reference = new Packr(OPTIONS);
const unpackr = new Unpackr(OPTIONS);
const msgpackr = (v: unknown): Buffer => Buffer.from(reference.pack(v));
/** msgpackr keeps neither -0 (it writes 0) nor a lone surrogate: for those the bytes are the check. */
const decodesBack = (v: unknown): boolean =>
  typeof v === 'number'
    ? !Object.is(v, -0)
    : typeof v === 'string'
      ? v.isWellFormed()
      : typeof v === 'object' && v !== null
        ? Object.values(v).every(decodesBack)
        : true;

// ASCII, 2-byte, 3-byte, a surrogate pair, and lone surrogates (msgpackr keeps them as 3 bytes under 64 characters).
const ALPHABETS = ['abcxyz019 _-/?', 'éüß', '日本語', '😀', '\ud800', '\udc00'];
const LENGTHS = [0, 1, 15, 31, 32, 33, 63, 64, 65, 85, 86, 255, 256, 300, 21_845, 21_846, 70_000];

function randomString(rand: () => number, n: number): string {
  const alphabet = ALPHABETS[Math.floor(rand() * ALPHABETS.length)];
  const ascii = rand() < 0.5;
  let s = '';
  while (s.length < n) {
    const from = ascii || rand() < 0.8 ? ALPHABETS[0] : alphabet;
    s += from[Math.floor(rand() * from.length)];
  }
  return s.slice(0, n);
}

// Objects take one of these shapes (under the 64 one message can define), integer-like keys included.
const SHAPES = [
  [],
  ['auction'],
  ['auction', 'bidder', 'price', 'url', 'extra'],
  ['a', 'b'],
  ['b', 'a'],
  ['0', 'a'],
  ['7', 'url', '0'],
  ['extra'],
];

function randomValue(rand: () => number, depth: number): unknown {
  const r = rand();
  if (r < 0.25) return MSGPACK_NUMBER_EDGES[Math.floor(rand() * MSGPACK_NUMBER_EDGES.length)];
  if (r < 0.45) return randomString(rand, LENGTHS[Math.floor(rand() * (depth > 1 ? 9 : LENGTHS.length))]);
  if (r < 0.5) return rand() < 0.5;
  if (r < 0.55 || depth > 3) return null;
  if (r < 0.75) {
    const n = [0, 1, 15, 16, 40][Math.floor(rand() * 5)];
    return Array.from({ length: n }, () => randomValue(rand, depth + 1));
  }
  const o: Record<string, unknown> = {};
  for (const key of SHAPES[Math.floor(rand() * SHAPES.length)]) o[key] = randomValue(rand, depth + 1);
  return o;
}

/** A list-state delta chunk's message of `n` records in one of a few shapes (the q20 case), some nested. */
function recordList(rand: () => number, n: number, shapes: number): unknown[] {
  const list = Array.from({ length: n }, () => {
    const s = Math.floor(rand() * shapes);
    const o: Record<string, unknown> = { auction: Math.floor(rand() * 1e4), [`f${s}`]: randomString(rand, 20 + Math.floor(rand() * 60)) };
    if (s % 3 === 1) o.nested = { at: rand(), tag: randomString(rand, 5) };
    if (s % 3 === 2) o.nested = { tag: randomString(rand, 5), at: rand() };
    return o;
  });
  return [3, 7, [['bids', 'list']], [], [], [0, 'key', list]];
}

describe('plain chunks written by hand', () => {
  it('are the bytes msgpackr writes, and decode back to the value', () => {
    const rand = prng(20261202);
    for (let i = 0; i < 3_000; i++) {
      const msg = [1, i % 128, [['t', 'value']], [0, `k${i}`, randomValue(rand, 0)]];
      const got = new PlainPacker(1 << 12).pack(msg);
      if (got === undefined) assert.fail(`message ${i} is plain: ${JSON.stringify(msg).slice(0, 300)}`);
      if (!Buffer.from(got).equals(msgpackr(msg))) assert.fail(`message ${i}: ${JSON.stringify(msg).slice(0, 300)}`);
      if (decodesBack(msg)) assert.deepEqual(unpackr.unpack(got), msg);
    }
  });

  it('write lists of records of up to 64 shapes as msgpackr does, and leave a 65th to it', () => {
    const rand = prng(7);
    for (const shapes of [1, 2, 9, 21, 64 / 3]) {
      const msg = recordList(rand, 2_000, Math.floor(shapes));
      const got = new PlainPacker().pack(msg);
      assert.ok(got !== undefined && Buffer.from(got).equals(msgpackr(msg)), `${Math.floor(shapes)} shapes`);
      if (decodesBack(msg)) assert.deepEqual(unpackr.unpack(got), msg);
    }
    const many = Array.from({ length: 65 }, (_, i) => ({ [`k${i}`]: i }));
    assert.equal(new PlainPacker().pack([1, 0, [], [0, 'k', many]]), undefined);
    assert.ok(
      new PlainPacker().pack([1, 0, [], [0, 'k', many.slice(0, 64)]])?.length === msgpackr([1, 0, [], [0, 'k', many.slice(0, 64)]]).length,
    );
  });

  it('leave what is not plain to msgpackr, whose bytes the chunk packer then writes', () => {
    class Point {
      constructor(readonly x: number) {}
    }
    const bare = Object.create(null) as Record<string, unknown>;
    bare.a = 1;
    const others: unknown[] = [
      undefined,
      12n,
      new Date(0),
      new Map([[1, 2]]),
      new Set([1]),
      new Uint8Array([1, 2]),
      new Point(1),
      bare,
      [1, , 3],
    ];
    others.forEach((v, i) => {
      const msg = [1, 0, [['t', 'value']], [0, 'k', { before: 'x'.repeat(40), v }]];
      assert.equal(new PlainPacker().pack(msg), undefined, `value ${i}`);
      const got = new ChunkPacker().pack(msg);
      assert.ok(Buffer.from(got).equals(msgpackr(msg)), `value ${i}`);
    });
  });

  it('never change a chunk already returned while later ones, plain or not, go after it', () => {
    const rand = prng(99);
    const packer = new ChunkPacker();
    const held: [Uint8Array, Buffer][] = [];
    for (let i = 0; i < 400; i++) {
      // Some not plain (a Date): msgpackr writes those in the same block, after the plain ones.
      const value = i % 7 === 3 ? { when: new Date(i), s: randomString(rand, 50) } : randomValue(rand, 1);
      const msg = [1, i, [['t', 'value']], [0, i, value]];
      held.push([packer.pack(msg), msgpackr(msg)]);
      // A big one now and then moves to a new block.
      if (i % 50 === 49) {
        const big = recordList(rand, 5_000, 3);
        held.push([packer.pack(big), msgpackr(big)]);
      }
    }
    held.forEach(([got, want], i) => assert.ok(Buffer.from(got).equals(want), `chunk ${i} changed or differs`));
  });
});
