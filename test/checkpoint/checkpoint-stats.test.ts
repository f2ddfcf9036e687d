// Each completed checkpoint reports where its time went (the slowest task's figure per phase):
// start delay (and of it the trigger reaching the slowest source), alignment, the synchronous
// part on the record loop, the asynchronous part.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runJob } from '../../core/index.js';
import { fixture } from '../helpers/paths.js';

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
        // durationMs is whole milliseconds (Date.now), the phases are not.
        assert.ok(phase <= k.durationMs + 1, what);
      }
      assert.ok(k.asyncMs > 0, what);
      // The first leg of the start delay: a source's own, which the maximum over all tasks includes.
      assert.ok(k.sourceStartDelayMs !== undefined && k.sourceStartDelayMs >= 0 && k.sourceStartDelayMs <= k.startDelayMs, what);
    }
  });
});
