/**
 * Two-thread stress test of the ring: a producer worker writes a seeded random stream (frame
 * sizes from 0 to the maximum, interleaved number frames), blocking in waitForSpace when the
 * ring is full; the main thread consumes it, parking on the gate when the ring is empty, and
 * both sides hash every frame. Equal hashes, byte and frame counts mean nothing was lost,
 * duplicated, reordered or torn.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { RingConsumer, createRing, poisonRing } from '../../core/channel/ring.js';
import { Gate, createGate } from '../../core/channel/gate.js';
import { RING_HEADER_BYTES, RING_READ_POS, RING_WRITE_POS } from '../../core/channel/layout.js';
import { consume, consumeMany, type ConsumeResult } from './fixtures/consume.js';
import type { ProducerStats, WorkerData } from './fixtures/ring-worker.js';

const WORKER_URL = new URL('./fixtures/ring-worker.js', import.meta.url);

type Outcome = { producer: ProducerStats; consumer: ConsumeResult; ms: number; readPos: number };

/** Starts a producer worker on `ring`; the promise settles with its stats, or its death. */
function startProducer(data: WorkerData): { worker: Worker; done: Promise<ProducerStats> } {
  const worker = new Worker(WORKER_URL, { workerData: data });
  const done = new Promise<ProducerStats>((resolve, reject) => {
    worker.on('message', (m: { kind: string; stats: ProducerStats }) => {
      if (m.kind === 'done') resolve(m.stats);
    });
    worker.on('error', reject);
    worker.on('exit', (code) => reject(new Error(`producer exited (code ${code}) before reporting`)));
  });
  // If the producer dies, poison its ring (as the runtime does) so the consumer stops.
  done.catch(() => poisonRing(data.ring, data.gate));
  return { worker, done };
}

/** A ring whose free-running positions start at `base` (a multiple of 8). */
function ringAt(capacity: number, base: number): SharedArrayBuffer {
  const ring = createRing(capacity);
  const hdr = new Int32Array(ring, 0, RING_HEADER_BYTES / 4);
  hdr[RING_WRITE_POS] = base | 0;
  hdr[RING_READ_POS] = base | 0;
  return ring;
}

async function runStream(opts: {
  capacity: number;
  seed: number;
  totalBytes: number;
  maxFrames?: number;
  profile: 'mixed' | 'tiny';
  /** Probability per frame that the consumer yields for a moment (so the ring fills). */
  pauseRate: number;
  /** Initial WRITE_POS/READ_POS. */
  base?: number;
}): Promise<Outcome> {
  const ring = ringAt(opts.capacity, opts.base ?? 0);
  const gateBuf = createGate();
  const consumer = new RingConsumer(ring);
  const gate = new Gate(gateBuf);
  const t0 = performance.now();
  const { worker, done } = startProducer({
    mode: 'stream',
    ring,
    gate: gateBuf,
    seed: opts.seed,
    totalBytes: opts.totalBytes,
    maxFrames: opts.maxFrames,
    profile: opts.profile,
  });
  const consumed = await consume(consumer, gate, { pause: () => Math.random() < opts.pauseRate });
  const producer = await done;
  const ms = performance.now() - t0;
  await worker.terminate();
  const readPos = new Int32Array(ring, 0, RING_HEADER_BYTES / 4)[RING_READ_POS] >>> 0;
  return { producer, consumer: consumed, ms, readPos };
}

function check(o: Outcome, label: string): void {
  const { producer: p, consumer: c } = o;
  console.log(
    `# ${label}: ${p.frames} frames, ${(p.bytes / 1e6).toFixed(1)} MB in ${o.ms.toFixed(0)} ms; ` +
      `producer waited for space ${p.waits}x (paused ${p.pauses}x), consumer parked ${c.parks}x (paused ${c.pauses}x)`,
  );
  assert.equal(c.end, 'drained');
  assert.equal(c.frames, p.frames, 'frame count');
  assert.equal(c.bytes, p.bytes, 'byte count');
  assert.equal(c.hash, p.hash, 'checksum over every frame in order');
}

test('stress: 10^8 bytes of mixed-size frames through a 64 KiB ring between two threads', { timeout: 30_000 }, async () => {
  // Positions start 50 MB below 2^32, so both u32 counters wrap around mid-stream.
  const base = 2 ** 32 - 50_000_000;
  const o = await runStream({ capacity: 64 * 1024, seed: 0xc0ffee, totalBytes: 100_000_000, profile: 'mixed', pauseRate: 1 / 1500, base });
  check(o, 'mixed');
  assert.ok(o.producer.bytes >= 1e8);
  assert.ok(o.readPos < base, `READ_POS wrapped past 2^32 (now ${o.readPos})`);
  // Both blocking paths must really have been taken, many times.
  assert.ok(o.producer.waits >= 20, `producer blocked on a full ring ${o.producer.waits}x`);
  assert.ok(o.consumer.parks >= 20, `consumer parked on an empty ring ${o.consumer.parks}x`);
});

test('stress: 10^6 tiny frames through a 1 KiB ring (publish/park races at frame rate)', { timeout: 30_000 }, async () => {
  const o = await runStream({
    capacity: 1024,
    seed: 7,
    totalBytes: Infinity,
    maxFrames: 1_000_000,
    profile: 'tiny',
    pauseRate: 1 / 3000,
  });
  check(o, 'tiny');
  assert.equal(o.producer.frames, 1_000_000);
  assert.ok(o.producer.waits >= 20, `producer blocked on a full ring ${o.producer.waits}x`);
  assert.ok(o.consumer.parks >= 20, `consumer parked on an empty ring ${o.consumer.parks}x`);
});

test('stress: three producer threads into one consumer through three rings sharing one gate', { timeout: 30_000 }, async () => {
  const gateBuf = createGate();
  const gate = new Gate(gateBuf);
  const specs = [
    { capacity: 16 * 1024, seed: 11, totalBytes: 20_000_000, profile: 'mixed' as const },
    { capacity: 4096, seed: 22, totalBytes: Infinity, maxFrames: 300_000, profile: 'tiny' as const },
    { capacity: 64 * 1024, seed: 33, totalBytes: 20_000_000, profile: 'mixed' as const },
  ];
  const rings = specs.map((s, i) => ringAt(s.capacity, i === 1 ? 2 ** 32 - 40_000 : 0));
  const consumers = rings.map((r) => new RingConsumer(r));
  const t0 = performance.now();
  const producers = specs.map((s, i) => startProducer({ mode: 'stream', ring: rings[i], gate: gateBuf, ...s }));
  const results = await consumeMany(consumers, gate);
  const stats = await Promise.all(producers.map((p) => p.done));
  const ms = performance.now() - t0;
  await Promise.all(producers.map((p) => p.worker.terminate()));
  console.log(
    `# fan-in: ${stats.reduce((a, s) => a + s.frames, 0)} frames, ${(stats.reduce((a, s) => a + s.bytes, 0) / 1e6).toFixed(1)} MB ` +
      `in ${ms.toFixed(0)} ms; consumer parked ${results[0].parks}x; producer waits ${stats.map((s) => s.waits).join('/')}`,
  );
  for (let i = 0; i < specs.length; i++) {
    assert.equal(results[i].end, 'drained', `ring ${i}`);
    assert.equal(results[i].frames, stats[i].frames, `ring ${i} frames`);
    assert.equal(results[i].bytes, stats[i].bytes, `ring ${i} bytes`);
    assert.equal(results[i].hash, stats[i].hash, `ring ${i} checksum`);
    assert.equal(consumers[i].drained, true);
  }
});
