/**
 * A source's last wait as its own thread saw it (the start delay's 'woke' leg in traced runs):
 * its times against a trigger, and on Linux the thread's run-queue wait and CPU over it, which
 * with the time it slept make up its length.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { wallNow } from '../../core/channel/time-account.js';
import { SourceWaitRecord } from '../../workers/source-wait-record.js';

const block = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

test('a wait that ended after the trigger is its leg, in ms after the trigger; one that ended before it is not', () => {
  const record = new SourceWaitRecord();
  const before = wallNow();
  record.begin('blocked', 30);
  const triggeredAt = wallNow() + 10;
  block(30);
  record.end();
  const after = wallNow();
  const leg = record.leg(triggeredAt);
  assert.ok(leg !== undefined);
  assert.equal(leg.kind, 'blocked');
  assert.ok(leg.beganMs <= -10 + 0.01 && leg.beganMs >= before - triggeredAt, `began ${leg.beganMs}`);
  assert.ok(Math.abs(leg.boundMs - (leg.beganMs + 30)) < 1e-6, 'set to end 30 ms after it began');
  assert.ok(leg.endedMs >= 20 - 0.01 && leg.endedMs <= after - triggeredAt, `ended ${leg.endedMs}`);
  if (existsSync('/proc/thread-self/schedstat')) {
    const length = leg.endedMs - leg.beganMs;
    assert.ok(leg.runQueueMs! >= 0 && leg.cpuMs! >= 0);
    // A thread blocked in Atomics.wait sleeps: its CPU over the wait is far below its length.
    assert.ok(leg.cpuMs! < length / 2, `ran ${leg.cpuMs} ms of a ${length} ms wait`);
    assert.ok(leg.runQueueMs! + leg.cpuMs! <= length + 0.5, 'run queue and CPU fit in the wait');
  }
  assert.equal(record.leg(after + 1), undefined, 'a trigger after the wait ended has no wait leg');
  assert.equal(leg.stealMs, undefined, 'no trigger armed: the host steal is not read');
});

test('a wait that begins with a trigger armed has the host steal and its major faults over it (where /proc counts them)', () => {
  const record = new SourceWaitRecord(() => true);
  const triggeredAt = wallNow();
  record.begin('parked', 15);
  block(15);
  record.end();
  const leg = record.leg(triggeredAt)!;
  if (!existsSync('/proc/stat')) return;
  assert.ok(leg.stealMs !== undefined && leg.stealMs >= 0 && leg.stealMs % 10 === 0, `steal ${leg.stealMs} ms: whole 10 ms ticks`);
  assert.equal(leg.majorFaults, 0, 'a thread blocked on a futex reads nothing from disk');
});

test("the waits after the source's input ended (its last drain, its park for the final checkpoint) are marked afterEnd", () => {
  const record = new SourceWaitRecord();
  const triggeredAt = wallNow();
  record.begin('blocked', 1);
  block(1);
  record.end();
  assert.equal(record.leg(triggeredAt)!.afterEnd, undefined, 'a drain while input is still read');
  record.endOfInput();
  record.begin('blocked', 1);
  block(1);
  record.end();
  assert.equal(record.leg(triggeredAt)!.afterEnd, true, 'the last drain');
  record.begin('parked', 1);
  block(1);
  record.end();
  const leg = record.leg(triggeredAt)!;
  assert.equal(leg.kind, 'parked');
  assert.equal(leg.afterEnd, true, 'the park until the final checkpoint');
});
