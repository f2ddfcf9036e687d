/**
 * Checkpoint declines are data (a reason code, where), and the coordinator's failure limit
 * counts by reason, after Flink's CheckpointFailureManager: a superseded checkpoint or a
 * cancel-barrier follows from something else and never fails the job; snapshot and sink
 * failures do, once more than the tolerated number happened in a row, and a completed
 * checkpoint clears the count.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { CheckpointCoordinator } from '../../core/checkpoint/coordinator.js';
import type { CheckpointDecline, CheckpointDeclineCode } from '../../core/checkpoint/decline.js';

type Step = CheckpointDeclineCode | 'ack';

/** Runs a coordinator whose single task answers each trigger with the next step of `script`. */
function run(script: Step[], tolerableFailures: number) {
  const aborted: CheckpointDecline[] = [];
  let failedWith: string | undefined;
  let resolveEnd!: () => void;
  const ended = new Promise<void>((r) => (resolveEnd = r));
  let n = 0;
  const c: CheckpointCoordinator = new CheckpointCoordinator(
    { intervalMs: 1, timeoutMs: 10_000, minPauseMs: 0, tolerableFailures, taskCount: 1, maxParallelism: 128, firstId: 1 },
    {
      trigger: (id) => {
        const step = script[n++];
        if (step === undefined) return resolveEnd();
        setImmediate(() => {
          if (step === 'ack') c.onAck(0, id, []);
          else c.onDecline({ id, code: step, operatorUid: 'map', subtask: 0, message: `failed at ${id}` });
        });
      },
      persist: async () => {},
      persistSavepoint: async () => '',
      notifyComplete: () => {},
      notifyAborted: (d) => aborted.push(d),
      failJob: (reason) => {
        failedWith = reason;
        resolveEnd();
      },
    },
  );
  // The coordinator's timers are unref'd (they must not keep a finished job alive): hold the test open.
  const keepOpen = setInterval(() => {}, 1000);
  c.start();
  return ended.then(() => {
    clearInterval(keepOpen);
    c.stop();
    return { aborted, failedWith, coordinator: c };
  });
}

test('superseded and cancel-barrier declines never fail the job; they are still counted by reason', async () => {
  const r = await run(['superseded', 'cancel-barrier', 'superseded', 'superseded', 'cancel-barrier', 'ack'], 1);
  assert.equal(r.failedWith, undefined);
  assert.deepEqual(r.coordinator.failedByReason, { superseded: 3, 'cancel-barrier': 2 });
  assert.equal(r.coordinator.failed, 5);
  assert.equal(r.coordinator.completed, 1);
  assert.deepEqual(
    r.aborted.map((d) => [d.id, d.code, d.operatorUid]),
    [
      [1, 'superseded', 'map'],
      [2, 'cancel-barrier', 'map'],
      [3, 'superseded', 'map'],
      [4, 'superseded', 'map'],
      [5, 'cancel-barrier', 'map'],
    ],
  );
});

test('counted reasons fail the job past the limit, and the message says how many of each', async () => {
  const r = await run(['snapshot-write-failed', 'superseded', 'sink-prepare-failed', 'snapshot-write-failed', 'ack'], 2);
  assert.ok(r.failedWith, 'the job should have failed at the third counted failure');
  assert.match(r.failedWith, /^3 checkpoints failed in a row \(2 snapshot-write-failed, 1 sink-prepare-failed; tolerable: 2\)/);
  assert.match(r.failedWith, /last: checkpoint 4 \[snapshot-write-failed\] at 'map' subtask 0: failed at 4/);
  assert.equal(r.coordinator.completed, 0);
});

test('a completed checkpoint clears the count', async () => {
  const r = await run(
    ['snapshot-write-failed', 'snapshot-write-failed', 'ack', 'snapshot-write-failed', 'snapshot-write-failed', 'ack'],
    2,
  );
  assert.equal(r.failedWith, undefined);
  assert.equal(r.coordinator.completed, 2);
  assert.deepEqual(r.coordinator.failedByReason, { 'snapshot-write-failed': 4 });
});

/**
 * A periodic checkpoint armed at the sources ahead of its due time, when every source ends
 * before it is due: it gives way to the final checkpoint (declined 'withdrawn', neither counted
 * nor failing anything), so no periodic checkpoint is taken after the end of input. Once due,
 * the sources may already have taken it: then it runs to completion and the final one follows.
 */
function armedThenFinal(finalAfterDue: boolean) {
  const events: string[] = [];
  return new Promise<{ events: string[]; coordinator: CheckpointCoordinator }>((resolve) => {
    const keepOpen = setInterval(() => {}, 1000);
    const finish = () => {
      clearInterval(keepOpen);
      c.stop();
      resolve({ events, coordinator: c });
    };
    const c: CheckpointCoordinator = new CheckpointCoordinator(
      { intervalMs: 200, timeoutMs: 1_000, minPauseMs: 0, tolerableFailures: 0, taskCount: 1, maxParallelism: 128, firstId: 1 },
      {
        arm: (id, dueAt) => {
          events.push(`arm ${id}`);
          const end = () => {
            c.requestFinal();
            if (finalAfterDue) setImmediate(() => c.onAck(0, id, []));
          };
          if (finalAfterDue) setTimeout(end, Math.max(0, dueAt - (performance.timeOrigin + performance.now())) + 5);
          else end();
        },
        trigger: (id, _ts, final) => {
          events.push(`trigger ${id}${final ? ' final' : ''}`);
          setImmediate(() => c.onAck(0, id, []));
        },
        persist: async () => {},
        persistSavepoint: async () => '',
        notifyComplete: (id, final) => {
          events.push(`complete ${id}${final ? ' final' : ''}`);
          if (final) finish();
        },
        notifyAborted: (d) => events.push(`abort ${d.id} ${d.code}`),
        failJob: (reason) => {
          events.push(`job failed: ${reason}`);
          finish();
        },
      },
    );
    c.start();
  });
}

test('an armed checkpoint not yet due when every source ends gives way to the final one, uncounted', async () => {
  const r = await armedThenFinal(false);
  assert.deepEqual(r.events, ['arm 1', 'abort 1 withdrawn', 'trigger 2 final', 'complete 2 final']);
  assert.equal(r.coordinator.failed, 0);
  assert.deepEqual(r.coordinator.failedByReason, {});
});

test('an armed checkpoint already due when every source ends completes, then the final one', async () => {
  const r = await armedThenFinal(true);
  assert.deepEqual(r.events, ['arm 1', 'complete 1', 'trigger 2 final', 'complete 2 final']);
  assert.equal(r.coordinator.failed, 0);
});
