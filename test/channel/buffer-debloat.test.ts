// test-lane: pair
/**
 * Buffer debloating on the real pieces (rings, the consumer's InputGate and InputDebloat, the
 * producer's TaskOutput), single-threaded and on a clock the test drives, so nothing depends on
 * the machine's speed:
 *   - a consumer's soft capacity follows its throughput (FLIP-183: throughput × target, split
 *     over its live input rings): it falls in the first period after the consumer slows down,
 *     and time parked idle does not count as slow;
 *   - a producer whose consumer set a soft capacity holds no more than that in the ring, sends
 *     batches by bytes so two frames fit in it, and a source behind it polls about one batch;
 *   - a ring starts at a small soft capacity, the first batch is one record, and a capacity that
 *     falls while the ring is full and a batch waits holds for everything not yet in the ring.
 * The expectations are worked out here from those definitions and the test's own byte counts.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { RingConsumer, RingProducer, createRing } from '../../core/channel/ring.js';
import { createGate } from '../../core/channel/gate.js';
import { DEBLOAT_PERIOD_MS, STARTING_SOFT_CAPACITY, startingSoftCapacity } from '../../core/channel/debloat.js';
import { FRAME_HEADER_BYTES, FRAME_RECORDS, RING_HEADER_BYTES } from '../../core/channel/layout.js';
import { BatchDecoder } from '../../core/channel/codec.js';
import type { JobEdge } from '../../core/graph/job-graph.js';
import { InputGate } from '../../workers/input-gate.js';
import { InputDebloat } from '../../workers/input-debloat.js';
import { TaskOutput } from '../../workers/output.js';
import { TaskTime } from '../../core/time/task-time.js';

const CAPACITY = 64 * 1024;
/** A frame of 248 payload bytes takes 256 ring bytes: the 64 KiB ring needs no WRAP padding. */
const PAYLOAD = 256 - FRAME_HEADER_BYTES;

test('a consumer that slows down gets a smaller soft capacity; idle time is not slowness', () => {
  const target = 50;
  const channels = 2;
  const rings = Array.from({ length: channels }, () => createRing(CAPACITY));
  const gate = createGate();
  const producers = rings.map((r) => new RingProducer(r, gate));
  const input = new InputGate(
    rings.map((ring, c) => ({ edge: 0, producerSubtask: c, ring, producerGate: createGate() })),
    () => 0,
    gate,
  );
  let now = 1000;
  let idle = 0;
  const debloat = new InputDebloat(input, target, CAPACITY, () => idle, now);
  const payload = new Uint8Array(PAYLOAD);

  /** One period: each channel moves `frames` frames through its ring; `idleMs` of it parked. */
  const period = (frames: number, idleMs: number): number[] => {
    for (let c = 0; c < channels; c++) {
      for (let f = 0; f < frames; f++) {
        assert.ok(producers[c].tryWrite(FRAME_RECORDS, 0, payload), 'one frame always fits an empty ring');
        assert.ok(input.channels[c].poll());
        input.channels[c].release();
      }
    }
    now += DEBLOAT_PERIOD_MS;
    idle += idleMs;
    debloat.tick(now);
    return producers.map((p) => p.softCapacity);
  };
  /** throughput (bytes per busy ms over all channels) × target / channels. */
  const expected = (frames: number, idleMs: number) => (((channels * frames * 256) / (DEBLOAT_PERIOD_MS - idleMs)) * target) / channels;
  const near = (got: number, want: number, what: string) =>
    assert.ok(Math.abs(got - want) <= want * 0.02, `${what}: soft capacity ${got}, expected about ${want}`);

  // Busy all the time at 40 frames per channel and period.
  let soft: number[] = [];
  for (let k = 0; k < 20; k++) soft = period(40, 0);
  near(soft[0], expected(40, 0), 'steady');
  assert.equal(soft[0], soft[1], 'both live rings get the same share');

  // Four times slower: the soft capacity falls to a quarter in the first period and stays there.
  const before = soft[0];
  const seen: number[] = [];
  for (let k = 0; k < 20; k++) seen.push(period(10, 0)[0]);
  for (let k = 1; k < seen.length; k++) assert.ok(seen[k] <= seen[k - 1], `falls monotonically: ${seen.join(', ')}`);
  // At once: a slower sample is taken as it is (bytes already in the ring cannot be taken back).
  near(seen[0], expected(10, 0), 'the first slow period');
  near(seen[seen.length - 1], expected(10, 0), 'after slowing down');

  // The same bytes with three quarters of each period parked idle: as fast as 40 frames busy.
  for (let k = 0; k < 20; k++) soft = period(10, 75);
  near(soft[0], expected(10, 75), 'idle time excluded');
  near(soft[0], expected(40, 0), 'idle time excluded (same busy throughput as at the start)');
});

test('a producer keeps within the soft capacity and sends batches by bytes', async () => {
  const ring = createRing(CAPACITY);
  const consumerGate = createGate();
  const edge: JobEdge = { id: 0, from: 0, to: 1, fromNode: 0, toNode: 1, partitioner: 'forward' };
  const output = new TaskOutput([edge], [{ edge: 0, rings: [ring], gates: [consumerGate] }], {
    batchSize: 2048,
    maxParallelism: 128,
    subtask: 0,
    producerUid: () => 'p',
    consumerUid: () => 'c',
    gate: createGate(),
  });
  const producer = output.channels[0].producer;
  const consumer = new RingConsumer(ring);
  const soft = 8192;
  consumer.setSoftCapacity(soft);
  const decoder = new BatchDecoder();
  const frames: number[] = [];
  let received = 0;
  const consumeAll = () => {
    while (consumer.poll()) {
      // At most the soft capacity in the ring, or one frame alone (an empty ring takes any frame).
      // From the frame's start: a WRAP padding the read position skipped is not data.
      let used = (producer.position - consumer.position) >>> 0;
      const at = consumer.position & (CAPACITY - 1);
      if (consumer.payloadOffset - RING_HEADER_BYTES === FRAME_HEADER_BYTES && at !== 0) used -= CAPACITY - at;
      const alone = Math.ceil((FRAME_HEADER_BYTES + consumer.payloadLength) / 8) * 8;
      assert.ok(used <= soft || used === alone, `${used} bytes in the ring, soft capacity ${soft}`);
      frames.push(consumer.payloadLength);
      received += decoder.decode(consumer.payload()).length;
      consumer.release();
    }
  };
  // One thread plays both sides: the drain writes what fits and returns instead of waiting.
  const drainAll = async () => {
    for (let k = 0; output.hasPending; k++) {
      assert.ok(k < 10_000, 'the output drains');
      consumeAll();
      await output.drain(
        () => false,
        () => true,
      );
    }
    consumeAll();
  };
  const N = 20_000;
  for (let i = 0; i < N; i++) {
    output.collect({ key: 100_000 + i, name: 'a record of about forty bytes' });
    if (output.hasPending) await drainAll();
  }
  output.flushAll();
  await drainAll();
  assert.equal(received, N, 'every record arrived');
  // The first batch leaves at the batch size (nothing measured yet; split into frames that fit
  // the ring); every later one fits half the soft capacity.
  const first = frames.findIndex((len) => len <= soft / 2);
  const later = frames.slice(first);
  assert.ok(later.length > 10, `many frames (${frames.length})`);
  for (const len of later) assert.ok(len <= soft / 2, `frame of ${len} bytes fits half the soft capacity ${soft}`);
  assert.ok(Math.max(...later) > soft / 4, `frames are not needlessly small (largest ${Math.max(...later)})`);
  // A source behind this output polls about one such batch at a time, not the full batch size.
  const limit = output.channels[0].batchLimit;
  assert.ok(limit < 2048 && limit > 1, `batch limit ${limit} records`);
  assert.equal(output.pollSize(2048), limit);
});

for (const timed of [false, true])
  test(`a producer honours a soft capacity that falls while its ring is full and a batch waits${timed ? ' (records with event timestamps)' : ''}`, async () => {
    const capacity = 256 * 1024;
    const time = timed ? new TaskTime() : undefined;
    // Created as deploy creates it with debloating on: the starting soft capacity.
    const ring = createRing(capacity, startingSoftCapacity(50, capacity));
    const edge: JobEdge = { id: 0, from: 0, to: 1, fromNode: 0, toNode: 1, partitioner: 'forward' };
    const output = new TaskOutput([edge], [{ edge: 0, rings: [ring], gates: [createGate()] }], {
      batchSize: 4096,
      maxParallelism: 128,
      subtask: 0,
      producerUid: () => 'p',
      consumerUid: () => 'c',
      gate: createGate(),
      ...(time ? { time } : {}),
    });
    const consumer = new RingConsumer(ring);
    const decoder = new BatchDecoder();
    let next = 0;
    /** One record; with event time its timestamp is 10 × its value. */
    const emit = () => {
      if (time) time.timestamp = next * 10;
      output.collect({ key: next % 1000, name: 'a record of about forty bytes', value: next++ });
    };
    const poll = () => {
      const n = output.pollSize(4096);
      for (let k = 0; k < n; k++) emit();
      return n;
    };
    let expectValue = 0;
    /** Reads every frame in the ring: [payload bytes, records] of each; records arrive in order, each once, with its timestamp. */
    const readAll = (): [number, number][] => {
      const frames: [number, number][] = [];
      while (consumer.poll()) {
        const decoded = decoder.decode(consumer.payload());
        const records = (timed ? decoded[0] : decoded) as { value: number }[];
        for (let k = 0; k < records.length; k++) {
          assert.equal(records[k].value, expectValue++, 'records in order, each once');
          if (timed) assert.equal((decoded[1] as number[])[k], records[k].value * 10, 'its timestamp');
        }
        frames.push([consumer.payloadLength, records.length]);
        consumer.release();
      }
      return frames;
    };
    let received = 0;
    const count = (frames: [number, number][]) => frames.reduce((n, [, r]) => n + r, 0);

    // The first batch is one record (nothing is known of the record size yet), the next ones fit
    // half the starting soft capacity by the bytes it took.
    assert.equal(poll(), 1, 'the first poll takes one record');
    let frames = readAll();
    assert.deepEqual(
      frames.map(([, r]) => r),
      [1],
      'the first frame carries one record',
    );
    received += count(frames);
    poll();
    frames = readAll();
    received += count(frames);
    assert.ok(
      frames.length > 0 && frames.every(([len]) => len <= STARTING_SOFT_CAPACITY / 2),
      `then frames of at most ${STARTING_SOFT_CAPACITY / 2} bytes: ${frames.map(([len]) => len)}`,
    );

    // The consumer measured a large capacity: the ring fills to it and a whole batch waits.
    consumer.setSoftCapacity(128 * 1024);
    while (!output.hasPending) poll();
    await output.drain(
      () => false,
      () => true,
    );
    assert.ok(output.hasPending, 'a batch waits behind the full ring');
    const inRing = (output.channels[0].producer.position - consumer.position) >>> 0;
    assert.ok(inRing > 64 * 1024, `the ring holds ${inRing} bytes`);

    // It falls to 4 KiB. What is in the ring stays in front of any barrier; what comes after it
    // (the waiting batch included, cut for the larger capacity) goes in frames that fit the new
    // one: new batches in frames of half of it, the waiting one cut again to fit it.
    const small = 4096;
    consumer.setSoftCapacity(small);
    assert.ok(output.pollSize(4096) * 50 <= small, `the next poll is sized for the new capacity: ${output.pollSize(4096)} records`);
    const before = readAll();
    received += count(before);
    const after: [number, number][] = [];
    for (let k = 0; output.hasPending; k++) {
      assert.ok(k < 100_000, 'the output drains');
      await output.drain(
        () => false,
        () => true,
      );
      const got = readAll();
      after.push(...got);
      received += count(got);
    }
    assert.ok(after.length > 0, 'frames came after the fall');
    const large = after.filter(([len, records]) => len > small && records > 1);
    assert.deepEqual(large, [], `frames written after the fall fit ${small} bytes`);

    // A task that is not a source (no poll re-sizes its batches) with a batch open for a large
    // capacity when it falls: the batch leaves in frames that fit the new one, into an empty ring.
    consumer.setSoftCapacity(128 * 1024);
    const open = output.pollSize(4096) - 1;
    for (let k = 0; k < open; k++) emit();
    consumer.setSoftCapacity(small);
    emit();
    const last: [number, number][] = [];
    for (let k = 0; k === 0 || output.hasPending; k++) {
      assert.ok(k < 100_000, 'the output drains');
      await output.drain(
        () => false,
        () => true,
      );
      const got = readAll();
      last.push(...got);
      received += count(got);
    }
    assert.ok(last.length > 1, `the open batch was cut: ${last.length} frames`);
    assert.deepEqual(
      last.filter(([len, records]) => len > small && records > 1),
      [],
      `its frames fit ${small} bytes`,
    );
    assert.equal(received, next, 'every record arrived once, in frames');
  });
