// How often a task delivering a record frame looks around (an unaligned barrier in its mailbox,
// a snapshot write that needs the event loop): between chunks of at most 64 records, and at a
// slow stage after about half a millisecond. Before the chunks were cut by time, a stage of
// 400 µs a record looked around every 26 ms, and a keyed snapshot captured in 32 slices (one
// per turn of the event loop, given only between chunks) took about a second to complete.
import test from 'node:test';
import assert from 'node:assert/strict';
import { BatchEncoder } from '../../core/channel/codec.js';
import { FRAME_RECORDS } from '../../core/channel/layout.js';
import type { FrameSource } from '../../workers/in-flight.js';
import { RecordDelivery } from '../../workers/record-delivery.js';
import type { StreamTask } from '../../workers/task.js';

const spin = (ms: number) => {
  const until = performance.now() + ms;
  while (performance.now() < until);
};

/** A task whose chain is one function of each record, and one frame of `n` records (0..n-1). */
function deliveryOf(n: number, perRecord: (r: number) => void, pauseDue: (delivered: number) => boolean) {
  const seen: number[] = [];
  const task = {
    time: { timestamp: 0 },
    inputSides: undefined,
    head: {
      collect(r: number) {
        perRecord(r);
        seen.push(r);
      },
    },
  } as unknown as StreamTask;
  const delivery = new RecordDelivery(task, () => pauseDue(seen.length));
  const records = Array.from({ length: n }, (_, i) => i);
  const payload = new BatchEncoder().encode(records).slice();
  const frame: FrameSource = {
    frameType: FRAME_RECORDS,
    frameFlags: 0,
    poll: () => true,
    payload: () => payload,
    number: () => 0,
    release: () => {},
    copyCurrent: () => ({ type: FRAME_RECORDS, flags: 0, payload }),
  };
  return { delivery, frame, seen, records };
}

test('a stage of 2 ms a record is asked after every record whether to pause; the frame resumes where it was left', () => {
  const asked: number[] = [];
  const { delivery, frame, seen, records } = deliveryOf(
    80,
    () => spin(2),
    (delivered) => {
      asked.push(delivered);
      return delivered === 70; // leave the frame once, as for a barrier in the mailbox
    },
  );
  delivery.deliverFrame(0, frame);
  assert.equal(seen.length, 70, 'left after the 70th record');
  assert.ok(delivery.batch.active);
  delivery.deliver();
  assert.deepEqual(seen, records, 'every record once, in order');
  // Nothing measured yet, the first chunk is one record; a record of 2 ms is 4 times the
  // budget, so every chunk after it is one record too.
  const expected = Array.from({ length: 79 }, (_, i) => 1 + i);
  assert.deepEqual(asked, expected);
});

test('a fast stage is asked once per 64 records after its first', () => {
  const asked: number[] = [];
  const { delivery, frame, seen } = deliveryOf(
    640,
    () => {},
    (delivered) => {
      asked.push(delivered);
      return false;
    },
  );
  delivery.deliverFrame(0, frame);
  assert.equal(seen.length, 640);
  // The first look after one record (nothing measured yet). A chunk that looked slow (this
  // thread preempted during it) is followed by a shorter one: never more than 64 records between
  // two looks, and most looks 64 apart.
  const gaps = asked.map((d, i) => d - (i === 0 ? 0 : asked[i - 1]));
  assert.ok(
    gaps.every((g) => g >= 1 && g <= 64),
    `gaps ${JSON.stringify(gaps)}`,
  );
  assert.ok(gaps.filter((g) => g === 64).length >= 5, `gaps ${JSON.stringify(gaps)}`);
});
