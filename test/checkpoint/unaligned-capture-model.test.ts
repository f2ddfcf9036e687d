// test-lane: pair
/**
 * A randomized model test of what an unaligned checkpoint captures, on the real pieces (rings,
 * the producer's Channel with its pending queue, the consumer's InputGate, the barrier handler,
 * InFlightCapture), driven one step at a time from a seeded schedule: random ring sizes,
 * channel counts, frame sizes, producers backpressured or not, and random moments at which
 * each producer's barrier overtakes and at which the consumer notices — also part-way through
 * delivering a record frame (the mid-batch cut: the frame's records not yet delivered are
 * stored as the channel's first in-flight input, RecordBatch.remainder), with and without
 * event timestamps on the batches; half of them copying into an in-flight arena (shared
 * memory reused across checkpoints), some too small for all of it.
 *
 * Checked for every channel: what the consumer had processed at its snapshot ++ its stored
 * input state ++ the producer's stored output state == exactly what the producer emitted
 * before its barrier; nothing twice, nothing missing, in order. The expectation is the list
 * of items (with their timestamps) each producer emitted, kept by the test itself.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { createGate } from '../../core/channel/gate.js';
import { BatchDecoder } from '../../core/channel/codec.js';
import { createRing, type OwnedFrame } from '../../core/channel/ring.js';
import { BARRIER_FLAG_UNALIGNED, FRAME_RECORDS, FRAME_WATERMARK, RECORDS_FLAG_TIMESTAMPS } from '../../core/channel/layout.js';
import { createBarrierHandler } from '../../core/checkpoint/barrier-handler.js';
import { decodeChannelState, encodeChannelState } from '../../core/checkpoint/channel-state.js';
import type { JobEdge } from '../../core/graph/job-graph.js';
import type { PriorityEvent } from '../../core/channel/ring.js';
import type { TaskTime } from '../../core/time/task-time.js';
import { TaskOutput } from '../../workers/output.js';
import { InputGate } from '../../workers/input-gate.js';
import { InFlightCapture } from '../../workers/in-flight.js';
import { InFlightArena } from '../../workers/in-flight-arena.js';
import { RecordBatch } from '../../workers/record-batch.js';
import { prng } from '../helpers/prng.js';

const SEEDS = process.env.EDDY_SOAK === '1' ? 400 : 120;
const decoder = new BatchDecoder();

/** The items of a records payload: records, or `record @ timestamp` on an event-time stream. */
function recordsOf(flags: number, payload: Uint8Array): { records: unknown[]; stamps: number[] | undefined } {
  const d = decoder.decode(payload);
  if ((flags & RECORDS_FLAG_TIMESTAMPS) === 0) return { records: d, stamps: undefined };
  return { records: d[0] as unknown[], stamps: d[1] as number[] };
}

const item = (record: unknown, stamp: number | undefined) => (stamp === undefined ? record : `${String(record)} @ ${stamp}`);

/** The items of stored frames, as the stream carried them. */
function itemsOf(frames: OwnedFrame[]): unknown[] {
  const out: unknown[] = [];
  for (const f of frames) {
    if (f.type === FRAME_RECORDS) {
      const { records, stamps } = recordsOf(f.flags, f.payload);
      records.forEach((rec, k) => out.push(item(rec, stamps?.[k])));
    } else if (f.type === FRAME_WATERMARK)
      out.push(`wm ${new Float64Array(f.payload.buffer.slice(f.payload.byteOffset, f.payload.byteOffset + 8))[0]}`);
  }
  return out;
}

/** Runs one schedule; true if the snapshot was taken part-way through a record frame. */
async function runSchedule(seed: number): Promise<boolean> {
  const r = prng(seed);
  const channels = 1 + Math.floor(r() * 4);
  const capacity = [1024, 2048, 4096, 8192][Math.floor(r() * 4)];
  const consumerGate = createGate();
  const rings = Array.from({ length: channels }, () => createRing(capacity));
  const producerGates = rings.map(() => createGate());
  // Half the schedules carry event timestamps (batches are [records, timestamps]).
  const clock = r() < 0.5 ? ({ timestamp: 0 } as TaskTime) : undefined;
  // One producer task per channel, each with one output channel (a forward edge).
  const producers = rings.map((ring, c) => {
    const edge: JobEdge = { id: 0, from: 0, to: 1, fromNode: 0, toNode: 1, partitioner: 'forward' };
    return new TaskOutput([edge], [{ edge: 0, rings: [ring], gates: [consumerGate] }], {
      batchSize: 1 + Math.floor(r() * 40),
      maxParallelism: 128,
      subtask: c,
      producerUid: () => `p${c}`,
      consumerUid: () => 'consumer',
      gate: producerGates[c],
      ...(clock ? { time: clock } : {}),
    });
  });
  // Half the schedules copy into an in-flight arena as tasks do, at times too small for all of
  // it (the rest in fresh memory); drawn apart, so the schedules themselves stay as they were.
  const a = prng(seed ^ 0x5eed);
  const arena = a() < 0.5 ? new InFlightArena(Math.floor(a() * capacity * channels)) : undefined;
  const input = new InputGate(
    rings.map((ring, c) => ({ edge: 0, producerSubtask: c, ring, producerGate: producerGates[c] })),
    () => 0,
    consumerGate,
  );

  const emitted: unknown[][] = rings.map(() => []);
  const consumed: unknown[][] = rings.map(() => []);
  let next = 0;
  const ID = 1;
  /** Per producer: what it had emitted when its barrier overtook (-1: not yet), and its output state. */
  const cutAt = rings.map(() => -1);
  const outputState: OwnedFrame[][] = rings.map(() => []);
  let triggered = false;
  let snapshot: unknown[][] | undefined;
  let capture: InFlightCapture | undefined;
  /** The consumer's record frame being delivered, possibly left part-way (as the run loop does). */
  const batch = new RecordBatch();
  batch.prepareRemainder();
  let midBatchCut = false;
  const handler = createBarrierHandler('exactly-once', channels, {
    block: () => assert.fail('an unaligned checkpoint blocks nothing'),
    unblockAll: () => {},
    triggerCheckpoint: (id, _ts, flags) => {
      assert.equal(flags & BARRIER_FLAG_UNALIGNED, BARRIER_FLAG_UNALIGNED);
      snapshot = consumed.map((c) => [...c]);
      midBatchCut = batch.active;
      capture = new InFlightCapture(
        id,
        input.channels.map((_, c) => ({ edge: 0, producerSubtask: c })),
        batch,
        arena?.hold(),
      );
    },
    abortCheckpoint: () => assert.fail('nothing aborts here'),
  });
  const ev: PriorityEvent = { seq: 0, id: 0, flags: 0, cut: 0, timestamp: 0 };
  // As the driver does (TaskCheckpointDriver.onPriority).
  const onPriority = () => {
    for (let i = 0; i < channels; i++) {
      if (!input.takePriority(i, ev)) continue;
      handler.onBarrier(i, ev.id, ev.timestamp, ev.flags);
      if (capture !== undefined && capture.id === ev.id) capture.locate(i, input.channels[i], input.replays[i], ev.cut);
    }
  };

  const steps = 200 + Math.floor(r() * 600);
  const triggerAt = Math.floor(r() * steps * 0.6);
  for (let step = 0; step < steps || capture === undefined || cutAt.includes(-1) || capture.recording.includes(1) || batch.active; step++) {
    assert.ok(step < steps + 20_000, `seed ${seed}: the checkpoint never completed`);
    if (step === triggerAt) triggered = true;
    const what = r();
    const c = Math.floor(r() * channels);
    const p = producers[c];
    if (what < 0.35) {
      // Producer c emits records (or now and then a watermark), backpressured into pending if the ring is full.
      if (r() < 0.1) {
        const wm = next++;
        p.emitWatermark(wm, false);
        emitted[c].push(`wm ${wm}`);
      } else {
        const n = 1 + Math.floor(r() * 30);
        for (let k = 0; k < n; k++) {
          const rec = `${c}:${next++}:${'x'.repeat(Math.floor(r() * 40))}`;
          if (clock) clock.timestamp = 1000 + next;
          p.collect(rec);
          emitted[c].push(item(rec, clock?.timestamp));
        }
        if (r() < 0.3) p.flushAll();
      }
    } else if (what < 0.5) {
      await p.drain(
        () => false,
        () => true,
      ); // writes what fits, never waits
    } else if (what < 0.6) {
      if (triggered && cutAt[c] < 0) {
        // Producer c's barrier overtakes: its open batch and pending frames become output state.
        p.flushAll();
        cutAt[c] = emitted[c].length;
        outputState[c] = p.overtakeAll(ID, 0, BARRIER_FLAG_UNALIGNED)[0].frames;
      }
    } else if (batch.active) {
      // The consumer goes on with a frame it left part-way, then looks at the mailboxes (as
      // the run loop's serve does between chunks): a barrier seen here cuts mid-batch.
      deliver(1 + Math.floor(r() * 8));
      if (input.priorityChanged()) onPriority();
    } else {
      // The consumer: one frame, the priority check after the poll (as the run loop does).
      const i = input.poll();
      if (input.priorityChanged()) onPriority();
      if (i < 0) continue;
      const src = input.sources[i];
      if (capture?.recording[i] === 1 && (src.frameType === FRAME_RECORDS || src.frameType === FRAME_WATERMARK)) capture.record(i, src);
      if (src.frameType === FRAME_RECORDS) {
        const { records, stamps } = recordsOf(src.frameFlags, src.payload());
        batch.load(i, records, stamps, src.frameFlags, src.payload());
        // Some frames whole, others only a first chunk before the loop looks again.
        deliver(r() < 0.5 ? records.length : 1 + Math.floor(r() * 8));
      } else if (src.frameType === FRAME_WATERMARK) consumed[i].push(`wm ${src.number(0)}`);
      src.release();
    }
  }
  /** Delivers up to `n` records of the current frame (what the chain would process). */
  function deliver(n: number): void {
    const end = Math.min(batch.records.length, batch.at + n);
    for (; batch.at < end; batch.at++) consumed[batch.channel].push(item(batch.records[batch.at], batch.stamps?.[batch.at]));
    if (!batch.active) batch.clear();
  }
  // Through the stored form and back, as a restore reads it (a cut frame is stored whole with
  // the index of its first undelivered record, and restored as its remaining records).
  const state = decodeChannelState(encodeChannelState(capture!.state()), `seed ${seed}`);
  for (let c = 0; c < channels; c++) {
    const stored = state.inputs.find((x) => x.channel === c)?.frames ?? [];
    const got = [...snapshot![c], ...itemsOf(stored), ...itemsOf(outputState[c])];
    assert.deepEqual(
      got,
      emitted[c].slice(0, cutAt[c]),
      `seed ${seed}, channel ${c} of ${channels}, ring ${capacity}${midBatchCut ? ', cut mid-batch' : ''}: consumed prefix + input state + output state must be the stream before the barrier`,
    );
  }
  return midBatchCut;
}

test(`unaligned capture: ${SEEDS} random schedules, each byte before the barrier stored exactly once`, async () => {
  let midBatch = 0;
  for (let seed = 1; seed <= SEEDS; seed++) if (await runSchedule(seed)) midBatch++;
  // The mid-batch cut must really be exercised, not only possible.
  assert.ok(midBatch >= SEEDS / 10, `only ${midBatch} of ${SEEDS} schedules cut mid-batch`);
});
