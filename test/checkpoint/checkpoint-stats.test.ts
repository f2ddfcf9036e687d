// Each completed checkpoint reports where its time went (the slowest task's figure per phase):
// start delay (and of it the trigger reaching the slowest source), alignment, the synchronous
// part on the record loop, the asynchronous part; and the start delay's legs in the order
// they happen (trigger posted, source back from its wait or busy, barrier out, noticed downstream).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runJob } from '../../core/index.js';
import { fixture } from '../helpers/paths.js';

// Traced (GC pauses, run-queue waits): the pool's worker threads, started by this file's job,
// copy the environment as it is here.
process.env.EDDY_CHECKPOINT_TRACE = '1';

describe('checkpoint statistics', () => {
  it('split a checkpoint into start delay, alignment, sync and async, each within its duration', async () => {
    const holdMs = 25;
    const res = await runJob(fixture('slow-snapshot.mjs'), {
      parallelism: 2,
      mode: 'exactly-once',
      checkpointIntervalMs: 100,
      args: { count: '20000', rate: '20000', holdMs: String(holdMs) },
    });
    const steady = res.checkpoints.filter((k) => !k.final);
    assert.ok(steady.length >= 3, `${steady.length} checkpoints in a 1 s job at 100 ms`);
    for (const k of [...steady, ...res.checkpoints.filter((x) => x.final)]) {
      const what = `checkpoint ${k.id}: ${JSON.stringify(k)}`;
      // The operator's snapshotState held the loop for holdMs: that is the sync phase.
      assert.ok(k.syncMs >= holdMs, what);
      for (const phase of [k.startDelayMs, k.alignmentMs, k.syncMs, k.asyncMs]) {
        assert.ok(phase >= 0, what);
        // One clock for the trigger and every task (timeOrigin + now, shared by the threads).
        assert.ok(phase <= k.durationMs, what);
      }
      assert.ok(k.asyncMs > 0, what);
      // The first leg of the start delay: a source's own, which the maximum over all tasks includes.
      const took = k.sourceStartDelayMs;
      assert.ok(took !== undefined && took >= 0 && took <= k.startDelayMs, what);
      // A source was still deploying, waiting (back from its wait before it took the trigger) or busy.
      assert.ok(k.deployingMs !== undefined || k.sourceWakeMs !== undefined || k.sourceBusyMs !== undefined, what);
      if (k.deployingMs !== undefined) assert.ok(k.deployingMs >= 0 && k.deployingMs <= k.startDelayMs, what);
      if (k.sourceWakeMs !== undefined) assert.ok(k.sourceWakeMs >= 0 && k.sourceWakeMs <= took, what);
      if (k.sourceBusyMs !== undefined) assert.ok(k.sourceBusyMs <= took, what);
      // Its barrier went out after it took the trigger; the count tasks noticed theirs after that.
      assert.ok(k.sourceOutMs !== undefined && k.sourceOutMs >= took && k.sourceOutMs <= k.durationMs, what);
      assert.ok(k.noticeMs !== undefined && k.noticeMs <= k.startDelayMs && k.noticeMs <= k.durationMs, what);
      // The coordinator's part: a timed checkpoint's timer late or not, the posts before any source took it.
      assert.ok(k.legs !== undefined && k.legs.timerLateMs >= 0 && k.legs.postMs >= 0 && k.legs.postMs <= k.durationMs, what);
      if (k.final) assert.equal(k.legs.timerLateMs, 0, what);
      // Traced: GC pause within each task's start window, and (Linux) the slowest task's wait for a CPU.
      assert.ok(k.gcMs !== undefined && k.gcMs >= 0 && k.gcMs <= k.startDelayMs, what);
      assert.ok(k.legs.mainGcMs !== undefined && k.legs.mainGcMs >= 0, what);
      if (process.platform === 'linux') assert.ok(k.runQueueMs !== undefined && k.runQueueMs >= 0 && k.runQueueMs <= k.durationMs, what);
    }
  });
});
