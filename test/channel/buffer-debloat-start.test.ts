/**
 * Buffer debloating from the first checkpoint on, and after the consumer slows down: a model of
 * the backpressure bench on the real pieces (rings created as deploy creates them, the
 * producer's TaskOutput, the consumer's InputGate and InputDebloat), single-threaded on a clock
 * the test drives, so nothing depends on the machine's speed.
 *
 * The producer is a source as fast as anything (it refills whatever the ring takes after every
 * frame the consumer reads); the consumer spends `bytes / rate` ms on each frame, where the rate
 * is the test's: a tenth of the full rate while it warms up (its first 300 ms: a JIT), the full
 * rate (780 ring bytes per ms, the bench's sink at 5 µs per record), then 4 or 8 times slower
 * from SLOW_AT on. Every 200 ms the source sends an aligned barrier (behind whatever it has pending,
 * as a real source does); its wait is the consumer's time when it reads the barrier minus the
 * time it was sent. Expected: no barrier waits more than 1.5 × the target (FLIP-183 promises
 * about 2 ×; in front of a barrier are at most the soft capacity in the ring, the target's worth
 * once the rate is known, and one pending frame of half of it), from the first checkpoint on,
 * at every ring size — except those sent while the data written before the slowdown still
 * drains (the ring cannot give those bytes back): within slowGraceMs of it.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { RingProducer, createRing } from '../../core/channel/ring.js';
import { createGate } from '../../core/channel/gate.js';
import { STARTING_SOFT_CAPACITY, startingSoftCapacity } from '../../core/channel/debloat.js';
import { Sinks, Sources, defineJob } from '../../core/index.js';
import { planJob } from '../../core/runtime/job-plan.js';
import { deploy } from '../../core/runtime/deployment.js';
import { FRAME_BARRIER, FRAME_HEADER_BYTES, FRAME_RECORDS } from '../../core/channel/layout.js';
import type { JobEdge } from '../../core/graph/job-graph.js';
import { InputGate } from '../../workers/input-gate.js';
import { InputDebloat } from '../../workers/input-debloat.js';
import { TaskOutput } from '../../workers/output.js';

const TARGET_MS = 50;
/** Ring bytes per ms the consumer works through at full speed. */
const RATE = 780;
const WARM_UP_MS = 300;
const SLOW_AT = 1500;
/**
 * A barrier sent within this of a slowdown may wait behind bytes written for the old speed (up
 * to 1.5 × the target's worth then, `slowdown` times that now): nothing can shorten that wait.
 */
const slowGraceMs = (slowdown: number) => 1.5 * TARGET_MS * slowdown;
const END_MS = 3000;
const INTERVAL_MS = 200;

function rate(t: number, slowdown: number): number {
  return t < WARM_UP_MS ? RATE / 10 : t < SLOW_AT ? RATE : RATE / slowdown;
}

/** The most a barrier may wait: the soft capacity (the target's worth) and half of it pending. */
const BOUND_MS = 1.5 * TARGET_MS;

/** Runs the model for one ring size; returns each barrier's [sent at, wait] in ms. */
async function barrierWaits(capacity: number, slowdown: number): Promise<[number, number][]> {
  const ring = createRing(capacity, startingSoftCapacity(TARGET_MS, capacity));
  const consumerGate = createGate();
  const edge: JobEdge = { id: 0, from: 0, to: 1, fromNode: 0, toNode: 1, partitioner: 'forward' };
  const output = new TaskOutput([edge], [{ edge: 0, rings: [ring], gates: [consumerGate] }], {
    batchSize: 2048,
    maxParallelism: 128,
    subtask: 0,
    producerUid: () => 'source',
    consumerUid: () => 'sink',
    gate: createGate(),
  });
  const input = new InputGate([{ edge: 0, producerSubtask: 0, ring, producerGate: createGate() }], () => 0, consumerGate);
  let now = 0;
  const debloat = new InputDebloat(input, TARGET_MS, capacity, () => 0, now);
  let next = 0;
  let nextBarrier = INTERVAL_MS;
  let id = 0;
  const sentAt = new Map<number, number>();
  const waits: [number, number][] = [];

  /**
   * The source: a barrier when one is due (queued behind what it has pending, as the source
   * task serves a trigger before it drains), then as many polls as the ring takes.
   */
  const produce = async () => {
    if (now >= nextBarrier) {
      sentAt.set(++id, now);
      output.broadcastControl(FRAME_BARRIER, 0, 2, id, now);
      nextBarrier = Infinity; // one checkpoint in flight at a time, as the coordinator does
    }
    for (;;) {
      if (
        output.hasPending &&
        !(await output.drain(
          () => false,
          () => true,
        ))
      )
        break;
      const n = output.pollSize(2048);
      for (let k = 0; k < n; k++, next++) output.collect({ key: next % 1000, value: next });
    }
  };

  while (now < END_MS) {
    await produce();
    const i = input.poll();
    assert.ok(i >= 0, 'the source always has a frame in the ring');
    const ch = input.channels[i];
    if (ch.frameType === FRAME_RECORDS) now += (FRAME_HEADER_BYTES + ch.payloadLength) / rate(now, slowdown);
    else if (ch.frameType === FRAME_BARRIER) {
      const at = sentAt.get(ch.number(0))!;
      waits.push([at, now - at]);
      // The checkpoint completes as its barrier arrives; the next one is due an interval after this one.
      nextBarrier = Math.max(at + INTERVAL_MS, now);
    }
    ch.release();
    debloat.tick(now);
  }
  return waits;
}

for (const [capacity, slowdown] of [64, 256, 1024].flatMap((kib) => [
  [kib * 1024, 4],
  [kib * 1024, 8],
])) {
  test(`ring of ${capacity / 1024} KiB, consumer ${slowdown}× slower later: every aligned barrier waits at most 1.5 × the target, the first ones too`, async () => {
    const waits = await barrierWaits(capacity, slowdown);
    assert.ok(waits.length >= 10, `barriers read: ${waits.length}`);
    const late = waits.filter(([at, wait]) => wait > BOUND_MS && !(at >= SLOW_AT && at < SLOW_AT + slowGraceMs(slowdown)));
    const show = waits.map(([at, w]) => `${Math.round(at)}:${Math.round(w)}`).join(' ');
    assert.deepEqual(
      late.map(([at]) => Math.round(at)),
      [],
      `barriers sent at (ms) that waited more than ${BOUND_MS} ms; sent:wait = ${show}`,
    );
    // Not starved either: at full speed the ring holds between half the soft capacity and all
    // of it (the producer writes frames of half), the target's worth at the measured rate.
    const steady = waits.filter(([at]) => at >= WARM_UP_MS + 500 && at < SLOW_AT).map(([, w]) => w);
    assert.ok(
      steady.length >= 3 && steady.every((w) => w >= TARGET_MS / 4),
      `at full speed a barrier waits a good part of the target (${show})`,
    );
  });
}

test('deploy creates every ring of a debloating job at the starting soft capacity, each attempt anew', () => {
  const job = defineJob((env) => {
    env
      .fromSource(Sources.generator({ count: 10, fn: (i) => ({ key: i % 3 }) }), 'events')
      .uid('events')
      .keyBy((e) => e.key)
      .map((e) => e)
      .uid('work')
      .sinkTo(Sinks.discard())
      .uid('out');
  });
  const softOf = (target: number | undefined) => {
    const plan = planJob(
      job,
      {},
      { parallelism: 2, ringCapacity: 1024 * 1024, ...(target !== undefined ? { bufferDebloatTargetMs: target } : {}) },
    );
    // Twice, as a restart deploys again: fresh rings, nothing of the last attempt's estimate.
    return [deploy(plan, 'job.mjs', {}), deploy(plan, 'job.mjs', {})].flatMap((d) =>
      d.rings.map((r) => new RingProducer(r.ring, r.gate).softCapacity),
    );
  };
  const on = softOf(TARGET_MS);
  assert.ok(on.length >= 8, `rings: ${on.length}`);
  assert.deepEqual(new Set(on), new Set([STARTING_SOFT_CAPACITY]));
  assert.deepEqual(new Set(softOf(undefined)), new Set([0]), 'without debloating the whole ring');
});
