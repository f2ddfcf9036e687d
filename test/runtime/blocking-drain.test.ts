/**
 * A backpressured source waits for ring space with its thread blocked on its gate
 * (BlockingDrain, RingProducer.blockForSpaceOrWake), not through its event loop: the wait ends
 * at the armed trigger's due time even when a callback of the event loop, ready during the
 * wait, would hold the loop for long; a consumer on another thread freeing space ends it; and
 * the loop still gets a turn while the source stays backpressured. Real rings and threads.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { RingConsumer } from '../../core/channel/ring.js';
import { GATE_SEQ, RING_HEADER_BYTES, RING_SPACE_SEQ } from '../../core/channel/layout.js';
import { oneChannelOutput } from '../helpers/one-channel-output.js';
import { BlockingDrain } from '../../workers/waits.js';
import type { RingReaderData } from './fixtures/ring-reader.js';

const READER_URL = new URL('./fixtures/ring-reader.js', import.meta.url);
const never = () => false;

/** A source's output with more records than its 4 KiB ring holds: frames left pending. */
function backpressured(batches: number) {
  const { output, ring, taskGate } = oneChannelOutput(4096, 16, 'source');
  // Strings of ~100 bytes: a batch of 16 is ~1.7 KB, so the ring takes two batches.
  for (let i = 0; i < 16 * batches; i++) output.collect(`${i}:${'x'.repeat(96)}`);
  output.flushAll();
  assert.ok(output.hasPending, 'the ring should be full and frames pending');
  return { output, ring, taskGate };
}

/** A trigger due `inMs` from now, as SourceTrigger bounds a drain's waits and interrupts it. */
function dueIn(inMs: number) {
  const dueAt = performance.now() + inMs;
  return {
    dueAt,
    isDue: () => performance.now() >= dueAt,
    waitMs: (ms: number) => Math.min(ms, Math.max(0, dueAt - performance.now())),
  };
}

test('a blocked drain ends at the due time, before an event-loop callback that became ready during the wait', async () => {
  const { output } = backpressured(6);
  // Turns far apart: only the wake-up path is under test here (the next test covers the turns).
  const blocking = new BlockingDrain(never, undefined, 1000);
  const trigger = dueIn(40);
  let callbackAt = 0;
  // Ready 5 ms into the wait and holding the event loop for 300 ms (a slow callback, a long
  // task): a wait resolved through the event loop is only back after it.
  setTimeout(() => {
    callbackAt = performance.now();
    const until = callbackAt + 300;
    while (performance.now() < until);
  }, 5);
  const done = await output.drain(never, trigger.isDue, trigger.waitMs, blocking);
  const backAt = performance.now();
  assert.equal(done, false, 'the ring never freed up: the drain must return on the due time, frames pending');
  assert.ok(backAt >= trigger.dueAt, 'returned before the due time');
  assert.equal(callbackAt, 0, `the drain came back only after the event loop's callback (${(backAt - trigger.dueAt).toFixed(1)} ms late)`);
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.ok(callbackAt > 0, 'the callback runs once the drain is back');
});

test('a consumer on another thread freeing space ends a blocked wait; every frame gets out', { timeout: 20_000 }, async () => {
  const batches = 12;
  const { output, ring, taskGate } = backpressured(batches);
  const data: RingReaderData = { ring, producerGate: taskGate, frames: batches, delayMs: 20 };
  const reader = new Worker(READER_URL, { workerData: data });
  const read = new Promise<number>((resolve, reject) => {
    reader.once('message', resolve);
    reader.once('error', reject);
  });
  try {
    // No trigger: each blocked wait ends only when the consumer rings (or at the turn, 10 ms).
    const done = await output.drain(never, never, (ms) => ms, new BlockingDrain(never));
    assert.equal(done, true);
    assert.equal(output.hasPending, false);
    assert.equal(await read, batches, 'the consumer read every frame');
  } finally {
    await reader.terminate();
  }
});

test('while a source stays backpressured its event loop still gets turns', async () => {
  const { output } = backpressured(6);
  const trigger = dueIn(150);
  const ticks: number[] = [];
  const timer = setInterval(() => ticks.push(performance.now()), 5);
  try {
    const done = await output.drain(never, trigger.isDue, trigger.waitMs, new BlockingDrain(never));
    assert.equal(done, false);
  } finally {
    clearInterval(timer);
  }
  // Turns at least every 10 ms over 150 ms: a 5 ms interval fires many times (generous for a busy machine).
  assert.ok(ticks.length >= 3, `the event loop turned ${ticks.length} times in 150 ms of backpressure`);
});

test("a consumer given its producer's gate wakes the producer there alone: no second notify on the ring's space word", async () => {
  const { output, ring, taskGate } = backpressured(6);
  // Every Atomics.notify takes V8's process-wide futex mutex: the wake the drain waits for is
  // the gate's, so the ring's space word is bumped (a waitForSpace still sees it move) but not notified.
  const hdr = new Int32Array(ring, 0, RING_HEADER_BYTES / 4);
  const spaceSeq = Atomics.load(hdr, RING_SPACE_SEQ);
  const onSpace = Atomics.waitAsync(hdr, RING_SPACE_SEQ, spaceSeq, 1500);
  const gate = new Int32Array(taskGate);
  const onGate = Atomics.waitAsync(gate, GATE_SEQ, Atomics.load(gate, GATE_SEQ), 1500);
  assert.ok(onSpace.async && onGate.async);
  // The drain announces what it waits for (RING_PRODUCER_PARKED); then the consumer frees the ring.
  // Async waits (a snapshot being written), so this thread stays free to consume; cancelled at the end.
  let cancelled = false;
  const drained = output.drain(
    () => cancelled,
    never,
    (ms) => Math.min(ms, 5),
    new BlockingDrain(() => true),
  );
  try {
    const consumer = new RingConsumer(ring, taskGate);
    await new Promise((resolve) => setTimeout(resolve, 20));
    while (consumer.poll()) consumer.release();
    assert.equal(await onGate.value, 'ok', "the producer's gate was rung");
    assert.equal(await onSpace.value, 'timed-out', 'the space word was notified too');
    assert.notEqual(Atomics.load(hdr, RING_SPACE_SEQ), spaceSeq, 'the space word still moves');
    for (let i = 0; i < 400 && output.hasPending; i++) {
      while (consumer.poll()) consumer.release();
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    assert.equal(await drained, true);
  } finally {
    cancelled = true;
    await drained.catch(() => undefined);
  }
});
