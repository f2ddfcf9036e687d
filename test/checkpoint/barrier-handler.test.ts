// test-lane: pair
/**
 * Barrier handlers, after Flink's AlignedCheckpointsMassiveRandomTest: random per-channel
 * streams of records, barriers, cancel-barriers and end-of-stream are delivered by a random
 * scheduler that, like the input gate, never reads a blocked channel. A validating host
 * checks the cut of every snapshot against the streams, and the outcome of every checkpoint.
 */
import test, { describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createBarrierHandler, type BarrierHandler, type BarrierHost, type BarrierMode } from '../../core/checkpoint/barrier-handler.js';

type Event = { t: 'record'; seq: number } | { t: 'barrier'; id: number } | { t: 'cancel'; id: number } | { t: 'eos' };

interface Input {
  streams: Event[][];
  /** Every checkpoint id some channel delivers (as barrier or cancel), ascending. */
  ids: number[];
  /** Ids that at least one channel cancels. */
  cancelled: Set<number>;
  /** before[c].get(id): records of channel c that precede its event for `id` (all of them if it ended first). */
  before: Map<number, number>[];
  recordCount: number[];
  /** Indexes into the runnable channels at each step; past the end, the first runnable one. */
  choices: number[];
}

const channelArb = (checkpoints: number) =>
  fc.record({
    gaps: fc.array(fc.nat({ max: 4 }), { minLength: checkpoints + 1, maxLength: checkpoints + 1 }),
    cancels: fc.array(
      fc.nat({ max: 7 }).map((x) => x === 0),
      { minLength: checkpoints, maxLength: checkpoints },
    ),
    // Mostly every barrier, sometimes an input that ends early (a bounded source that finished).
    endsAfter: fc.oneof(
      { weight: 3, arbitrary: fc.constant(checkpoints) },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: checkpoints }) },
    ),
  });

const inputArb: fc.Arbitrary<Input> = fc
  .record({ channels: fc.integer({ min: 1, max: 6 }), checkpoints: fc.integer({ min: 0, max: 6 }) })
  .chain(({ channels, checkpoints }) =>
    fc.record({
      idSteps: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: checkpoints, maxLength: checkpoints }),
      channels: fc.array(channelArb(checkpoints), { minLength: channels, maxLength: channels }),
      choices: fc.array(fc.nat(), { maxLength: 150 }),
    }),
  )
  .map(({ idSteps, channels, choices }) => {
    const checkpointIds: number[] = [];
    for (let k = 0, id = 0; k < idSteps.length; k++) checkpointIds.push((id += idSteps[k]!));
    const streams: Event[][] = [];
    const before: Map<number, number>[] = [];
    const recordCount: number[] = [];
    const cancelled = new Set<number>();
    const delivered = new Set<number>();
    for (const ch of channels) {
      const events: Event[] = [];
      const seen = new Map<number, number>();
      let seq = 0;
      const records = (n: number) => {
        for (let i = 0; i < n; i++) events.push({ t: 'record', seq: seq++ });
      };
      for (let k = 0; k < ch.endsAfter; k++) {
        const id = checkpointIds[k]!;
        records(ch.gaps[k]!);
        seen.set(id, seq);
        delivered.add(id);
        if (ch.cancels[k]) cancelled.add(id);
        events.push(ch.cancels[k] ? { t: 'cancel', id } : { t: 'barrier', id });
      }
      records(ch.gaps[checkpointIds.length]!);
      events.push({ t: 'eos' });
      for (const id of checkpointIds) if (!seen.has(id)) seen.set(id, seq);
      streams.push(events);
      before.push(seen);
      recordCount.push(seq);
    }
    return { streams, ids: checkpointIds.filter((id) => delivered.has(id)), cancelled, before, recordCount, choices };
  });

type Outcome = 'triggered' | 'cancel-barrier' | 'superseded';

/** Delivers the input through a handler in `mode` and checks every promise along the way. */
function run(mode: BarrierMode, input: Input): Map<number, Outcome> {
  const n = input.streams.length;
  const position = new Array<number>(n).fill(0);
  const blocked = new Array<boolean>(n).fill(false);
  const processed = new Array<number>(n).fill(0);
  const outcomes = new Map<number, Outcome>();
  let lastOutcome = -1;
  let current: { channel: number; event: Event } | undefined;

  const settle = (id: number, outcome: Outcome) => {
    assert.ok(!outcomes.has(id), `checkpoint ${id} settled twice: ${outcomes.get(id)} then ${outcome}`);
    assert.ok(id > lastOutcome, `checkpoint ${id} settled after ${lastOutcome}`);
    outcomes.set(id, outcome);
    lastOutcome = id;
  };

  const host: BarrierHost = {
    block(channel) {
      assert.equal(mode, 'exactly-once', 'at-least-once never blocks');
      assert.ok(current?.channel === channel && current.event.t === 'barrier', `block(${channel}) outside its own barrier`);
      assert.ok(!blocked[channel], `channel ${channel} blocked twice`);
      blocked[channel] = true;
    },
    unblockAll() {
      assert.equal(mode, 'exactly-once', 'at-least-once never blocks');
      blocked.fill(false);
    },
    triggerCheckpoint(id, timestamp) {
      assert.equal(timestamp, id * 1000);
      assert.ok(!input.cancelled.has(id), `cancelled checkpoint ${id} triggered`);
      settle(id, 'triggered');
      for (let c = 0; c < n; c++) {
        const owed = input.before[c]!.get(id)!;
        if (mode === 'exactly-once') {
          assert.equal(processed[c], owed, `checkpoint ${id}: channel ${c} processed ${processed[c]} records, its barrier follows ${owed}`);
        } else {
          assert.ok(processed[c]! >= owed, `checkpoint ${id}: channel ${c} processed ${processed[c]} records, its barrier follows ${owed}`);
        }
      }
    },
    abortCheckpoint(id, reason) {
      settle(id, reason);
    },
  };

  const handler: BarrierHandler = createBarrierHandler(mode, n, host);
  const runnable: number[] = [];
  for (let step = 0; ; step++) {
    runnable.length = 0;
    for (let c = 0; c < n; c++) if (!blocked[c] && position[c]! < input.streams[c]!.length) runnable.push(c);
    if (runnable.length === 0) break;
    const channel = runnable[step < input.choices.length ? input.choices[step]! % runnable.length : 0]!;
    const event = input.streams[channel]![position[channel]!++]!;
    current = { channel, event };
    switch (event.t) {
      case 'record':
        assert.equal(event.seq, processed[channel], `channel ${channel}: record out of order`);
        processed[channel]!++;
        break;
      case 'barrier':
        handler.onBarrier(channel, event.id, event.id * 1000);
        break;
      case 'cancel':
        handler.onCancelBarrier(channel, event.id);
        break;
      case 'eos':
        handler.onEndOfStream(channel);
        break;
    }
  }

  // No deadlock: nothing is left unread behind a block.
  for (let c = 0; c < n; c++) {
    assert.equal(position[c], input.streams[c]!.length, `channel ${c} stuck (blocked: ${blocked[c]})`);
    assert.equal(processed[c], input.recordCount[c]);
  }
  assert.equal(handler.pending, -1);
  // Every checkpoint that reached this task is settled exactly once, and nothing else is.
  assert.deepEqual([...outcomes.keys()], input.ids);
  return outcomes;
}

describe('barrier handler, randomized', () => {
  test('exactly-once: each snapshot sees exactly the records before its barriers; every uncancelled checkpoint triggers once', () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        const outcomes = run('exactly-once', input);
        for (const id of input.ids)
          assert.equal(outcomes.get(id), input.cancelled.has(id) ? 'cancel-barrier' : 'triggered', `checkpoint ${id}`);
      }),
      { numRuns: 1000 },
    );
  });

  test('at-least-once: each snapshot sees at least the records before its barriers; nothing is blocked', () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        const outcomes = run('at-least-once', input);
        for (const id of input.ids) {
          const o = outcomes.get(id);
          if (input.cancelled.has(id)) assert.notEqual(o, 'triggered', `checkpoint ${id}`);
          else assert.notEqual(o, 'cancel-barrier', `checkpoint ${id}`);
        }
      }),
      { numRuns: 1000 },
    );
  });
});

/** A host that writes down what it is told, for the examples. */
function recorder(): BarrierHost & { log: string[] } {
  const log: string[] = [];
  return {
    log,
    block: (c) => log.push(`block ${c}`),
    unblockAll: () => log.push('unblock'),
    triggerCheckpoint: (id, ts) => log.push(`trigger ${id} @${ts}`),
    abortCheckpoint: (id, reason) => log.push(`abort ${id} ${reason}`),
  };
}

describe('barrier handler, examples', () => {
  test('exactly-once holds each input that delivered the barrier until the last one does', () => {
    const host = recorder();
    const h = createBarrierHandler('exactly-once', 3, host);
    h.onBarrier(0, 1, 10);
    h.onBarrier(2, 1, 10);
    assert.equal(h.pending, 1);
    h.onBarrier(1, 1, 10);
    assert.equal(h.pending, -1);
    assert.deepEqual(host.log, ['block 0', 'block 2', 'trigger 1 @10', 'unblock']);
  });

  test('one input triggers on its barrier at once', () => {
    for (const mode of ['exactly-once', 'at-least-once'] as const) {
      const host = recorder();
      createBarrierHandler(mode, 1, host).onBarrier(0, 7, 70);
      assert.deepEqual(host.log, ['trigger 7 @70']);
    }
  });

  test("the trigger carries the first barrier's flags and when its alignment started, in both modes", () => {
    for (const mode of ['exactly-once', 'at-least-once'] as const) {
      let now = 0;
      const got: string[] = [];
      const h = createBarrierHandler(
        mode,
        2,
        {
          block: () => {},
          unblockAll: () => {},
          triggerCheckpoint: (id, ts, flags, startedAt) => got.push(`trigger ${id} @${ts} flags ${flags} aligned from ${startedAt}`),
          abortCheckpoint: (id, code) => got.push(`abort ${id} ${code}`),
        },
        () => now,
      );
      now = 5;
      h.onBarrier(0, 1, 10, 3);
      now = 9;
      h.onBarrier(1, 1, 10, 3);
      now = 12;
      h.onBarrier(1, 2, 20, 4); // the first barrier of 2 starts its alignment
      now = 30;
      h.onBarrier(1, 3, 30, 1); // 3 supersedes 2: its own flags, its own start
      now = 31;
      h.onBarrier(0, 3, 30, 1);
      assert.deepEqual(got, ['trigger 1 @10 flags 3 aligned from 5', 'abort 2 superseded', 'trigger 3 @30 flags 1 aligned from 30'], mode);
    }
  });

  test('at-least-once blocks nothing and triggers on the last barrier', () => {
    const host = recorder();
    const h = createBarrierHandler('at-least-once', 2, host);
    h.onBarrier(1, 1, 10);
    h.onBarrier(1, 1, 10); // a repeat from the same input does not count twice
    assert.deepEqual(host.log, []);
    h.onBarrier(0, 1, 10);
    assert.deepEqual(host.log, ['trigger 1 @10']);
  });

  test('a newer barrier supersedes the checkpoint being aligned', () => {
    const host = recorder();
    const h = createBarrierHandler('at-least-once', 2, host);
    h.onBarrier(0, 1, 10);
    h.onBarrier(0, 2, 20);
    assert.equal(h.pending, 2);
    h.onBarrier(1, 1, 10); // late: ignored
    h.onBarrier(1, 2, 20);
    assert.deepEqual(host.log, ['abort 1 superseded', 'trigger 2 @20']);
  });

  test('a cancel-barrier aborts the alignment once and releases the held inputs', () => {
    const host = recorder();
    const h = createBarrierHandler('exactly-once', 3, host);
    h.onBarrier(0, 4, 40);
    h.onCancelBarrier(1, 4);
    h.onCancelBarrier(2, 4);
    h.onBarrier(2, 4, 40);
    assert.equal(h.pending, -1);
    assert.deepEqual(host.log, ['block 0', 'abort 4 cancel-barrier', 'unblock']);
  });

  test('a cancel-barrier of an unseen checkpoint aborts it once; its barriers are then late', () => {
    const host = recorder();
    const h = createBarrierHandler('exactly-once', 2, host);
    h.onCancelBarrier(0, 5);
    h.onBarrier(1, 5, 50);
    h.onCancelBarrier(1, 5);
    assert.deepEqual(host.log, ['abort 5 cancel-barrier']);
    h.onBarrier(0, 6, 60);
    h.onBarrier(1, 6, 60);
    assert.deepEqual(host.log.slice(1), ['block 0', 'trigger 6 @60', 'unblock']);
  });

  test('a cancel-barrier of a newer checkpoint supersedes the one being aligned', () => {
    const host = recorder();
    const h = createBarrierHandler('exactly-once', 2, host);
    h.onBarrier(0, 1, 10);
    h.onCancelBarrier(1, 2);
    assert.deepEqual(host.log, ['block 0', 'abort 1 superseded', 'unblock', 'abort 2 cancel-barrier']);
  });

  test('end-of-stream on the input the alignment waits for completes it', () => {
    const host = recorder();
    const h = createBarrierHandler('exactly-once', 2, host);
    h.onBarrier(0, 1, 10);
    h.onEndOfStream(1);
    assert.deepEqual(host.log, ['block 0', 'trigger 1 @10', 'unblock']);
    // The ended input no longer counts: the next barrier on the other one is enough.
    h.onBarrier(0, 2, 20);
    assert.deepEqual(host.log.slice(3), ['trigger 2 @20']);
  });

  test('a late barrier (at or below the last settled id) is ignored', () => {
    const host = recorder();
    const h = createBarrierHandler('exactly-once', 2, host);
    h.onBarrier(0, 3, 30);
    h.onBarrier(1, 3, 30);
    h.onBarrier(0, 2, 20);
    h.onBarrier(0, 3, 30);
    assert.equal(h.pending, -1);
    assert.deepEqual(host.log, ['block 0', 'trigger 3 @30', 'unblock']);
  });

  test('bad channel counts and indexes are refused', () => {
    assert.throws(() => createBarrierHandler('exactly-once', 0, recorder()), RangeError);
    assert.throws(() => createBarrierHandler('exactly-once', 2, recorder()).onBarrier(2, 1, 0), RangeError);
  });
});
