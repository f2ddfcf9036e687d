/**
 * The slowest source's wait as a slow start shows it (issue 13): the wait and what followed it
 * until that same source took the trigger (its record's reads, its wait accounts' end, the
 * take), and, where several sources report, the wait of the one that took the trigger last,
 * not of another whose wait merely ended later.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { mergePhases, type CheckpointPhases, type SourceWaitLeg } from '../../core/checkpoint/checkpoint-stats.js';
import { createGate } from '../../core/channel/gate.js';
import { wallNow } from '../../core/channel/time-account.js';
import { SourceTrigger } from '../../workers/source-trigger.js';
import { SourceWaitRecord } from '../../workers/source-wait-record.js';
import { existsSync } from 'node:fs';
import { formatSourceWait } from '../../bench/slow-starts.js';

const phases = (sourceWait: SourceWaitLeg): CheckpointPhases => ({
  startDelayMs: sourceWait.tookMs ?? 0,
  alignmentMs: 0,
  syncMs: 0,
  asyncMs: 0,
  sourceWait,
});
const leg = (endedMs: number, tookMs: number): SourceWaitLeg => ({ kind: 'blocked', beganMs: -9, boundMs: 0, endedMs, tookMs });

test('two sources: the checkpoint keeps the wait of the source that took the trigger last, whichever wait ended later', () => {
  // Source A came back at +0.2 and took the trigger at +36; source B came back at +0.3 and took it at +0.4.
  const a = leg(0.2, 36);
  const b = leg(0.3, 0.4);
  for (const order of [
    [a, b],
    [b, a],
  ]) {
    const m: CheckpointPhases = { startDelayMs: 0, alignmentMs: 0, syncMs: 0, asyncMs: 0 };
    for (const w of order) mergePhases(m, phases(w), undefined);
    assert.equal(m.sourceWait, a, 'the slow source (took +36) is the one shown');
  }
});

test('a source tells what followed its wait: reads done, its own woke, the take; a wait it did not record shows as such', () => {
  const trigger = new SourceTrigger(createGate(), true);
  const t0 = wallNow();
  trigger.waitBegan('blocked', 5);
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
  trigger.waitEnded();
  const back = wallNow();
  trigger.turnBegan();
  trigger.turnEnded();
  // A trigger 2 ms into the wait; the source's accounts ended 1 ms after it came back; it took the trigger at +10.
  const triggeredAt = t0 + 2;
  const w = trigger.waitLeg(triggeredAt, back + 1, 10)!;
  assert.equal(w.kind, 'blocked');
  assert.ok(w.endedMs >= 3 - 0.01 && w.endedMs <= back - triggeredAt, `back at ${w.endedMs}`);
  assert.ok(w.readsDoneMs! >= w.endedMs && w.readsDoneMs! <= back - triggeredAt, `reads done at ${w.readsDoneMs}`);
  assert.ok(Math.abs(w.wokeMs! - (back + 1 - triggeredAt)) < 1e-6);
  assert.equal(w.tookMs, 10);
  assert.equal(w.turns, 1, 'one event-loop turn after the wait');
  assert.match(
    formatSourceWait(w, (n) => n.toFixed(1)),
    /then reads done \+\d+\.\d, woke \+\d+\.\d, took \+10\.0, 1 event-loop turn/,
  );

  // A trigger after that wait ended, though the source's accounts ended later still: a wait the record missed.
  const late = back + 0.5;
  const u = trigger.waitLeg(late, late + 30, 31)!;
  assert.equal(u.kind, 'unrecorded');
  assert.ok(u.endedMs < 0, 'the last recorded wait ended before this trigger');
  assert.ok(Math.abs(u.wokeMs! - 30) < 1e-6);
  assert.match(
    formatSourceWait(u, (n) => n.toFixed(1)),
    /^no recorded wait ended after the trigger; the last, from −/,
  );
});

test('untraced: no record, no leg', () => {
  const trigger = new SourceTrigger(createGate(), false);
  trigger.waitBegan('parked', 1);
  trigger.waitEnded();
  assert.equal(trigger.waitLeg(0, 1, 1), undefined);
});

test('a wait that ends with a trigger due reads nothing at its end: its run queue and CPU are read with the leg, and say so', () => {
  if (!existsSync('/proc/thread-self/schedstat')) return;
  const block = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
  const due = new SourceWaitRecord(
    () => true,
    () => true,
  );
  const triggeredAt = wallNow();
  due.begin('blocked', 5);
  block(5);
  due.end();
  block(5); // the take, and the barrier going out
  const w = due.leg(triggeredAt)!;
  assert.ok(w.sampledToMs! >= w.endedMs + 5 - 0.01, `read at +${w.sampledToMs}, the wait back at +${w.endedMs}`);
  assert.ok(w.runQueueMs! >= 0 && w.cpuMs! >= 0);
  assert.match(
    formatSourceWait(w, (n) => n.toFixed(1)),
    /back at \+\d+\.\d; of it and on to \+\d+\.\d run queue/,
  );

  const notDue = new SourceWaitRecord();
  notDue.begin('blocked', 1);
  notDue.end();
  assert.equal(notDue.leg(triggeredAt)!.sampledToMs, undefined, 'no trigger due: read at the end, as before');
});
