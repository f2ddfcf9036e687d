/**
 * Wake-ups between a ring's two ends: a thread that waits on a gate is always woken, and is
 * rung once per wait, not once per frame published (or released) before it runs. Each ring is
 * an Atomics.notify, and every notify of the process goes through V8's one futex mutex (see
 * BlockingDrain), so the rings nobody waits for are cut: the producer or consumer that rings
 * takes the waiter's flag (GATE_PARKED, RING_PRODUCER_PARKED) with the wake-up.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { RingConsumer, RingProducer, createRing } from '../../core/channel/ring.js';
import { Gate, createGate } from '../../core/channel/gate.js';
import { FRAME_RECORDS, GATE_SEQ, RING_HEADER_BYTES, RING_PRODUCER_PARKED } from '../../core/channel/layout.js';
import type { WakeStats, WakeWorkerData } from './fixtures/gate-wake-worker.js';

const WORKER_URL = new URL('./fixtures/gate-wake-worker.js', import.meta.url);

const gateSeq = (gate: SharedArrayBuffer) => Atomics.load(new Int32Array(gate), GATE_SEQ);

test('a parked consumer is rung once for all the frames published before it runs, and again after it re-arms', () => {
  const ring = createRing(4096);
  const gateBuf = createGate();
  const gate = new Gate(gateBuf);
  const p = new RingProducer(ring, gateBuf);
  const c = new RingConsumer(ring);
  const frame = new Uint8Array(16);
  const before = gateSeq(gateBuf);
  p.tryWrite(FRAME_RECORDS, 0, frame);
  assert.equal(gateSeq(gateBuf), before, 'not armed: no ring');
  gate.arm();
  for (let i = 0; i < 5; i++) assert.ok(p.tryWrite(FRAME_RECORDS, 0, frame));
  assert.equal(gateSeq(gateBuf) - before, 1, 'five frames while armed: one ring');
  while (c.poll()) c.release();
  gate.arm();
  assert.ok(p.tryWrite(FRAME_RECORDS, 0, frame));
  assert.equal(gateSeq(gateBuf) - before, 2, 're-armed: rung again');
});

test('a producer waiting for space is rung once, by the release that frees what it waits for, not by every release after', () => {
  const ring = createRing(4096);
  const producerGate = createGate();
  const p = new RingProducer(ring, createGate());
  const c = new RingConsumer(ring, producerGate);
  const frame = new Uint8Array(100);
  let frames = 0;
  while (p.tryWrite(FRAME_RECORDS, 0, frame)) frames++;
  // What the drain announces before it waits (RingProducer.announceWait).
  const hdr = new Int32Array(ring, 0, RING_HEADER_BYTES / 4);
  Atomics.store(hdr, RING_PRODUCER_PARKED, 112);
  const before = gateSeq(producerGate);
  let released = 0;
  while (c.poll()) {
    c.release();
    released++;
  }
  assert.equal(released, frames);
  assert.equal(gateSeq(producerGate) - before, 1, `${frames} releases, the producer rung once`);
  assert.equal(Atomics.load(hdr, RING_PRODUCER_PARKED), 0, 'the release that rang took the flag');
});

/** Runs two producer threads into one consumer thread (two rings, one consumer gate), all waiting blocked. */
async function run(seed: number, capacity: number, frames: number): Promise<{ producers: WakeStats[]; consumer: WakeStats[] }> {
  const gate = createGate();
  const producerGates = [createGate(), createGate()];
  const rings = [createRing(capacity), createRing(capacity)];
  const start = (data: WakeWorkerData) => {
    const w = new Worker(WORKER_URL, { workerData: data });
    const done = new Promise<unknown>((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
    });
    return { w, done };
  };
  const workers = [
    start({ role: 'consumer', rings, gate, producerGates, seed: seed ^ 0x5bd1e995 }),
    ...rings.map((ring, i) => start({ role: 'producer', ring, gate, ownGate: producerGates[i], seed: seed + i, frames })),
  ];
  for (const { w } of workers) w.postMessage('go');
  const [consumer, ...producers] = (await Promise.all(workers.map((x) => x.done))) as [WakeStats[], ...WakeStats[]];
  await Promise.all(workers.map(({ w }) => w.terminate()));
  return { producers, consumer };
}

test(
  'randomized, two producer threads and a consumer thread all blocked in Atomics.wait: no wake-up is lost, nothing lost or reordered',
  { timeout: 60_000 },
  async () => {
    const total = { producerWaits: 0, consumerWaits: 0, notifies: 0, wokeNone: 0, frames: 0 };
    for (const [seed, capacity] of [
      [1, 1024],
      [2, 4096],
      [3, 1024],
    ] as const) {
      const { producers, consumer } = await run(seed, capacity, 20_000);
      for (let i = 0; i < producers.length; i++) {
        assert.equal(producers[i].lost, 0, `seed ${seed}: producer ${i} ran ${producers[i].lost}x to its limit (a lost wake-up)`);
        assert.equal(consumer[i].frames, producers[i].frames, `seed ${seed}: ring ${i} frames`);
        assert.equal(consumer[i].bytes, producers[i].bytes, `seed ${seed}: ring ${i} bytes`);
        assert.equal(consumer[i].hash, producers[i].hash, `seed ${seed}: ring ${i} checksum`);
        total.producerWaits += producers[i].waits;
        total.notifies += producers[i].notifies;
        total.wokeNone += producers[i].notifiesWokeNone;
        total.frames += producers[i].frames;
      }
      assert.equal(consumer[0].lost, 0, `seed ${seed}: the consumer waited ${consumer[0].lost}x until its limit (a lost wake-up)`);
      total.consumerWaits += consumer[0].waits;
      total.notifies += consumer[0].notifies;
      total.wokeNone += consumer[0].notifiesWokeNone;
    }
    console.log(
      `# ${total.frames} frames: producers waited ${total.producerWaits}x, the consumer ${total.consumerWaits}x; ` +
        `${total.notifies} notifies, ${total.wokeNone} of them woke nobody`,
    );
    // Both waits must really have happened, many times, for the test to say anything.
    assert.ok(total.producerWaits >= 100, `producers waited ${total.producerWaits}x`);
    assert.ok(total.consumerWaits >= 100, `the consumer waited ${total.consumerWaits}x`);
  },
);
