/**
 * A backpressured task waits in TaskOutput.drain; a command must get it out of that wait at
 * once (with its frames still pending, in order), and the drain must then finish the job
 * once the consumer frees space. Real rings, one thread: the consumer is driven by the test.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { RingConsumer } from '../../core/channel/ring.js';
import { Gate } from '../../core/channel/gate.js';
import { FRAME_BARRIER, FRAME_RECORDS } from '../../core/channel/layout.js';
import { BatchDecoder } from '../../core/channel/codec.js';
import { oneChannelOutput } from '../helpers/one-channel-output.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function setup() {
  const { output, ring, taskGate } = oneChannelOutput(4096, 16);
  // The consumer knows the producer's gate: freeing space rings it (that is what ends a drain's wait).
  return { output, consumer: new RingConsumer(ring, taskGate), gate: new Gate(taskGate) };
}

/** Everything the consumer can read now: records in order, and a marker per barrier. */
function readAll(consumer: RingConsumer, decoder: BatchDecoder): unknown[] {
  const got: unknown[] = [];
  while (consumer.poll()) {
    if (consumer.frameType === FRAME_RECORDS) got.push(...(decoder.decode(consumer.payload()) as unknown[]));
    else if (consumer.frameType === FRAME_BARRIER) got.push(`barrier ${consumer.number(0)}`);
    consumer.release();
  }
  return got;
}

test('a command interrupts a drain blocked on a full ring; frames stay pending in order and drain later', async () => {
  const { output, consumer, gate } = setup();
  const decoder = new BatchDecoder();
  // Strings of ~100 bytes: 16 per batch is ~1.7 KB, so a 4 KiB ring holds two batches.
  const sent = Array.from({ length: 16 * 8 }, (_, i) => `${i}:${'x'.repeat(96)}`);
  for (const r of sent) output.collect(r);
  output.flushAll();
  assert.ok(output.hasPending, 'the ring should be full and frames pending');

  let commands = 0;
  const started = performance.now();
  const draining = output.drain(
    () => false,
    () => commands > 0,
  );
  await sleep(30);
  // As the control port does: a command arrives and rings the task's gate, where the drain waits.
  commands = 1;
  gate.ring();
  const finished = await draining;
  const waited = performance.now() - started;
  assert.equal(finished, false, 'drain reported done though the ring never freed up');
  assert.ok(waited < 900, `drain returned only after ${waited.toFixed(0)} ms (its own 1 s wait), not on the interrupt`);
  assert.ok(output.hasPending);

  // The loop serves the command (a barrier queued behind the pending frames), then drains again.
  output.broadcastControl(FRAME_BARRIER, 0, 2, 7, 0);
  commands = 0;
  const got: unknown[] = [];
  const rest = output.drain(
    () => false,
    () => commands > 0,
  );
  for (let i = 0; i < 200 && output.hasPending; i++) {
    got.push(...readAll(consumer, decoder));
    await sleep(1);
  }
  assert.equal(await rest, true);
  got.push(...readAll(consumer, decoder));
  assert.deepEqual(got, [...sent, 'barrier 7'], 'records then the barrier, each once, in order');
});

test('without an interrupt, drain waits for the consumer and completes', async () => {
  const { output, consumer } = setup();
  const decoder = new BatchDecoder();
  const sent = Array.from({ length: 16 * 6 }, (_, i) => `${i}:${'y'.repeat(96)}`);
  for (const r of sent) output.collect(r);
  output.flushAll();
  const draining = output.drain(
    () => false,
    () => false,
  );
  const got: unknown[] = [];
  let done = false;
  void draining.then(() => (done = true));
  for (let i = 0; i < 500 && !done; i++) {
    await sleep(2);
    got.push(...readAll(consumer, decoder));
  }
  assert.equal(await draining, true);
  got.push(...readAll(consumer, decoder));
  assert.deepEqual(got, sent);
});
