// test-lane: pair
/**
 * The in-flight arena (workers/in-flight-arena.ts): an unaligned capture copies its input
 * bytes into shared memory reused from one checkpoint to the next, held by one capture until
 * its file is written, and those copies go into the channel state by reference (read in place
 * by the writer thread). Expectations are the bytes the test wrote into its ring, and the
 * arena's contract: one capture at a time, fresh memory otherwise.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { createGate } from '../../core/channel/gate.js';
import { createRing, RingConsumer, RingProducer } from '../../core/channel/ring.js';
import { FRAME_RECORDS, FRAME_WATERMARK } from '../../core/channel/layout.js';
import { decodeChannelState, encodeChannelStateParts } from '../../core/checkpoint/channel-state.js';
import { InFlightArena, MAX_ARENA_BYTES } from '../../workers/in-flight-arena.js';
import { InFlightCapture } from '../../workers/in-flight.js';

const shared = (b: Uint8Array) => b.buffer instanceof SharedArrayBuffer;

test('one capture holds the arena: its copies are consecutive pieces of one shared block, anything else gets fresh memory', () => {
  const arena = new InFlightArena(64);
  const first = arena.hold();
  const a = first(16);
  const b = first(16);
  assert.ok(shared(a) && a.buffer === b.buffer, 'both copies in the arena');
  assert.deepEqual([a.byteOffset, b.byteOffset], [0, 16]);
  // A second capture while the first one's file is still being written must not overwrite it.
  const second = arena.hold();
  assert.equal(shared(second(8)), false);
  // Past the end: fresh memory, the arena's bytes so far untouched.
  assert.equal(shared(first(40)), false);
  arena.release();
  const third = arena.hold();
  const c = third(8);
  assert.ok(shared(c) && c.buffer === a.buffer);
  assert.equal(c.byteOffset, 0, 'reused from its start');
  // The first capture's allocator, kept past its release, cannot take the new capture's bytes.
  assert.equal(shared(first(8)), false);
});

test('the arena is bounded whatever the rings: past its bound, fresh memory', () => {
  const take = new InFlightArena(4 * MAX_ARENA_BYTES).hold();
  const all = take(MAX_ARENA_BYTES);
  assert.ok(shared(all) && all.buffer.byteLength === MAX_ARENA_BYTES);
  assert.equal(shared(take(1)), false);
});

test("a capture's ring copies land in the arena and go into the channel state by reference, as the ring carried them", () => {
  const ring = createRing(4096);
  const producer = new RingProducer(ring, createGate());
  const consumer = new RingConsumer(ring);
  const payloads = [new Uint8Array([1, 2, 3, 4, 5]), new Uint8Array(300).fill(7), new Uint8Array(new Float64Array([42]).buffer)];
  assert.ok(producer.tryWrite(FRAME_RECORDS, 0, payloads[0]));
  assert.ok(producer.tryWrite(FRAME_RECORDS, 1, payloads[1]));
  assert.ok(producer.tryWrite(FRAME_WATERMARK, 0, payloads[2]));
  const cut = producer.position;
  // After the cut: not in the capture.
  assert.ok(producer.tryWrite(FRAME_RECORDS, 0, new Uint8Array([9, 9])));

  const arena = new InFlightArena(4096);
  const capture = new InFlightCapture(1, [{ edge: 3, producerSubtask: 0 }], undefined, arena.hold());
  capture.locate(0, consumer, undefined, cut);
  const state = capture.state();
  const stored = state.inputs[0].frames;
  assert.deepEqual(
    stored.map((f) => [f.type, f.flags, [...f.payload]]),
    [
      [FRAME_RECORDS, 0, [...payloads[0]]],
      [FRAME_RECORDS, 1, [...payloads[1]]],
      [FRAME_WATERMARK, 0, [...payloads[2]]],
    ],
  );
  assert.ok(
    stored.every((f) => shared(f.payload)),
    'copied into the arena',
  );
  // Nothing was consumed: the task still processes those frames itself.
  assert.ok(consumer.poll());
  assert.deepEqual([...consumer.payload()], [...payloads[0]]);

  const parts = encodeChannelStateParts(state);
  for (const f of stored)
    assert.ok(parts.includes(f.payload), 'each arena copy is a part of its own (read in place), not copied into the structure');
  const joined = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    joined.set(p, at);
    at += p.byteLength;
  }
  const back = decodeChannelState(joined, 'test');
  assert.deepEqual(
    back.inputs[0].frames.map((f) => [f.type, f.flags, [...f.payload]]),
    payloads.map((p, i) => [i === 2 ? FRAME_WATERMARK : FRAME_RECORDS, i === 1 ? 1 : 0, [...p]]),
  );
  assert.equal(back.inputs[0].edge, 3);
});
