/**
 * End of a ring's life: a dead producer (process.exit in the worker, or terminate) is seen by
 * a parked consumer once the runtime poisons the ring; a producer blocked on a full ring is
 * released by poisoning; a closed ring drains completely and then reports `drained`.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { RingConsumer, RingProducer, createRing, poisonRing, ringState } from '../../core/channel/ring.js';
import { Gate, createGate } from '../../core/channel/gate.js';
import { FRAME_RECORDS, FRAME_WATERMARK, RING_CLOSED, RING_OPEN, RING_POISONED } from '../../core/channel/layout.js';
import { consume } from './fixtures/consume.js';
import type { ProducerStats, WorkerData } from './fixtures/ring-worker.js';

const WORKER_URL = new URL('./fixtures/ring-worker.js', import.meta.url);
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function startWorker(data: WorkerData): Worker {
  return new Worker(WORKER_URL, { workerData: data });
}

function nextMessage<T>(w: Worker, kind: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onMessage = (m: { kind: string }) => {
      if (m.kind !== kind) return;
      w.off('message', onMessage);
      resolve(m as T);
    };
    w.on('message', onMessage);
    w.once('error', reject);
    w.once('exit', (code) => reject(new Error(`worker exited (code ${code}) before sending '${kind}'`)));
  });
}

/** Does what the runtime does: when the producer's thread exits, poison its ring. */
function poisonOnExit(w: Worker, ring: SharedArrayBuffer, gate: SharedArrayBuffer) {
  return new Promise<{ code: number; at: number }>((resolve) => {
    w.once('exit', (code) => {
      const at = performance.now();
      poisonRing(ring, gate);
      resolve({ code, at });
    });
  });
}

test(
  'dead producer (process.exit(1)): a parked consumer sees RING_POISONED within 1 s of the exit event',
  { timeout: 20_000 },
  async () => {
    const ring = createRing(4096);
    const gateBuf = createGate();
    const consumer = new RingConsumer(ring);
    const gate = new Gate(gateBuf);
    // 500 frames of 24 bytes do not fit in 4 KiB: the producer also blocks on a full ring first.
    const w = startWorker({ mode: 'die', ring, gate: gateBuf, frames: 500, dieAfterMs: 300 });
    let parkedNow = false;
    let parkedAtExit: boolean | undefined;
    const exited = poisonOnExit(w, ring, gateBuf);
    w.once('exit', () => (parkedAtExit = parkedNow));
    const result = await consume(consumer, gate, { onPark: (p) => (parkedNow = p) });
    const seenAt = performance.now();
    const { code, at } = await exited;
    console.log(`# process.exit: poison seen ${(seenAt - at).toFixed(2)} ms after the exit event; ${result.parks} parks`);
    assert.equal(code, 1);
    assert.equal(result.end, 'poisoned');
    assert.equal(result.frames, 500, 'every frame published before the death is delivered');
    assert.equal(parkedAtExit, true, 'the consumer was parked on the gate when the producer died');
    assert.ok(seenAt - at < 1000, `seen after ${seenAt - at} ms`);
    assert.equal(ringState(ring), RING_POISONED);
  },
);

test('dead producer (terminate() mid-stream): the consumer stops with RING_POISONED within 1 s', { timeout: 20_000 }, async () => {
  const ring = createRing(8192);
  const gateBuf = createGate();
  const consumer = new RingConsumer(ring);
  const gate = new Gate(gateBuf);
  const w = startWorker({ mode: 'endless', ring, gate: gateBuf });
  const exited = poisonOnExit(w, ring, gateBuf);
  void nextMessage(w, 'running').then(
    () => w.terminate(),
    () => {},
  );
  const result = await consume(consumer, gate, { pause: () => Math.random() < 0.001 });
  const seenAt = performance.now();
  const { at } = await exited;
  console.log(`# terminate: ${result.frames} frames read, poison seen ${(seenAt - at).toFixed(2)} ms after the exit event`);
  assert.equal(result.end, 'poisoned');
  assert.ok(result.frames >= 1000);
  assert.ok(seenAt - at < 1000, `seen after ${seenAt - at} ms`);
});

test(
  'a producer blocked in waitForSpace on another thread returns when the ring is poisoned; writes then fail',
  { timeout: 20_000 },
  async () => {
    const ring = createRing(4096);
    const gateBuf = createGate();
    const w = startWorker({ mode: 'blocked', ring, gate: gateBuf });
    const blocked = await nextMessage<{ frames: number }>(w, 'blocked');
    assert.equal(blocked.frames, 2, 'two maximal frames fill the ring');
    const returned = nextMessage<{
      waitedMs: number;
      state: number;
      tryWrite: boolean;
      tryWriteEmpty: boolean;
      tryWriteNumbers: boolean;
    }>(w, 'returned');
    await sleep(150); // it really is blocked: nothing frees space
    const poisonedAt = performance.now();
    poisonRing(ring, gateBuf);
    const r = await returned;
    const latency = performance.now() - poisonedAt;
    console.log(`# blocked producer released ${latency.toFixed(2)} ms after poisonRing (blocked ${r.waitedMs.toFixed(0)} ms)`);
    assert.ok(r.waitedMs >= 100, `waitForSpace returned early, after ${r.waitedMs} ms`);
    assert.ok(latency < 1000);
    assert.equal(r.state, RING_POISONED);
    assert.equal(r.tryWrite, false);
    assert.equal(r.tryWriteEmpty, false);
    assert.equal(r.tryWriteNumbers, false);
    await w.terminate();
  },
);

test('same thread: waitForSpace returns on poison; tryWrite/tryWriteNumbers refuse a poisoned ring even with space', async () => {
  const ring = createRing(1024);
  const gateBuf = createGate();
  const p = new RingProducer(ring, gateBuf);
  const c = new RingConsumer(ring);
  assert.equal(p.tryWrite(FRAME_RECORDS, 0, new Uint8Array(p.maxPayload)), true);
  assert.equal(p.tryWrite(FRAME_RECORDS, 0, new Uint8Array(p.maxPayload)), true);
  assert.equal(p.tryWrite(FRAME_RECORDS, 0), false);
  let returned = false;
  const waiting = p.waitForSpace(1).then(() => (returned = true));
  await sleep(30);
  assert.equal(returned, false, 'still blocked while the ring is full');
  poisonRing(ring);
  await waiting;
  assert.equal(p.state, RING_POISONED);
  // Free everything: the ring has room, but a poisoned ring takes no more frames.
  while (c.poll()) c.release();
  assert.equal(p.hasSpaceFor(0), true);
  assert.equal(p.tryWrite(FRAME_RECORDS, 0, new Uint8Array(1)), false);
  assert.equal(p.tryWriteNumbers(FRAME_WATERMARK, 0, 2, 1, 2), false);
  assert.equal(c.poll(), false);
  assert.equal(c.drained, false, 'a poisoned ring is never "drained"');
  // close() after poison does not resurrect it.
  p.close();
  assert.equal(ringState(ring), RING_POISONED);
});

test('waitForSpace: returns at once when there is room, after the timeout when there is not', async () => {
  const ring = createRing(1024);
  const p = new RingProducer(ring, createGate());
  let t = performance.now();
  await p.waitForSpace(p.maxPayload, 10_000);
  assert.ok(performance.now() - t < 100);
  while (p.tryWrite(FRAME_RECORDS, 0, new Uint8Array(100)));
  t = performance.now();
  await p.waitForSpace(100, 50);
  const waited = performance.now() - t;
  assert.ok(waited >= 45 && waited < 1000, `waited ${waited} ms`);
  assert.equal(p.hasSpaceFor(100), false);
  assert.equal(p.state, RING_OPEN);
});

test('same thread: a consumer parked on the gate wakes on publish, on close, and on poison', async () => {
  for (const action of ['publish', 'close', 'poison'] as const) {
    const ring = createRing(1024);
    const gateBuf = createGate();
    const p = new RingProducer(ring, gateBuf);
    const c = new RingConsumer(ring);
    const gate = new Gate(gateBuf);
    gate.arm();
    assert.equal(c.poll(), false);
    setTimeout(() => {
      if (action === 'publish') p.tryWrite(FRAME_RECORDS, 9, new Uint8Array([1, 2, 3]));
      else if (action === 'close') p.close();
      else poisonRing(ring, gateBuf);
    }, 20);
    const t = performance.now();
    await gate.park();
    assert.ok(performance.now() - t >= 10, `${action}: park returned before the event`);
    if (action === 'publish') {
      assert.equal(c.poll(), true);
      assert.equal(c.frameFlags, 9);
      c.release();
    } else if (action === 'close') {
      assert.equal(c.state, RING_CLOSED);
      assert.equal(c.drained, true);
    } else {
      assert.equal(c.state, RING_POISONED);
    }
  }
});

test('close(): the consumer reads every remaining frame, then drained is true', async () => {
  const ring = createRing(1024);
  const gateBuf = createGate();
  const p = new RingProducer(ring, gateBuf);
  const c = new RingConsumer(ring);
  for (let i = 0; i < 5; i++) assert.equal(p.tryWrite(FRAME_RECORDS, i, new Uint8Array(i * 10).fill(i)), true);
  assert.equal(p.tryWriteNumbers(FRAME_WATERMARK, 77, 1, 123.5), true);
  p.close();
  assert.equal(c.state, RING_CLOSED);
  for (let i = 0; i < 5; i++) {
    assert.equal(c.drained, false);
    assert.equal(c.poll(), true);
    assert.equal(c.frameFlags, i);
    assert.deepEqual(new Uint8Array(c.payload()), new Uint8Array(i * 10).fill(i));
    c.release();
  }
  assert.equal(c.poll(), true);
  assert.equal(c.drained, false, 'not drained while the last frame is current (polled, not released)');
  assert.equal(c.frameType, FRAME_WATERMARK);
  assert.equal(c.number(0), 123.5);
  c.release();
  assert.equal(c.drained, true);
  assert.equal(c.poll(), false);
});

test('a producer exiting after close(): poisonRing keeps the ring CLOSED, the consumer drains it', async () => {
  const ring = createRing(1024);
  const gateBuf = createGate();
  const p = new RingProducer(ring, gateBuf);
  const c = new RingConsumer(ring);
  const gate = new Gate(gateBuf);
  for (let i = 0; i < 3; i++) assert.equal(p.tryWrite(FRAME_RECORDS, i, new Uint8Array(8).fill(i)), true);
  p.close();
  // The runtime poisons the rings of every worker that exits; this one ended cleanly.
  poisonRing(ring, gateBuf);
  assert.equal(ringState(ring), RING_CLOSED);
  const result = await consume(c, gate);
  assert.equal(result.end, 'drained');
  assert.equal(result.frames, 3);
  assert.equal(c.drained, true);
});

test('close() from another thread: the consumer gets the whole stream, then drained', { timeout: 20_000 }, async () => {
  const ring = createRing(2048);
  const gateBuf = createGate();
  const consumer = new RingConsumer(ring);
  const gate = new Gate(gateBuf);
  const w = startWorker({ mode: 'stream', ring, gate: gateBuf, seed: 99, totalBytes: 2_000_000, profile: 'mixed' });
  const done = nextMessage<{ stats: ProducerStats }>(w, 'done');
  done.catch(() => poisonRing(ring, gateBuf));
  const result = await consume(consumer, gate);
  const { stats } = await done;
  await w.terminate();
  assert.equal(result.end, 'drained');
  assert.equal(consumer.drained, true);
  assert.equal(consumer.state, RING_CLOSED);
  assert.equal(result.frames, stats.frames);
  assert.equal(result.bytes, stats.bytes);
  assert.equal(result.hash, stats.hash);
});
