// The tail of an unaligned checkpoint under backpressure, by legs (issue 13): each leg is a
// time after the trigger on the clock every thread shares, so one checkpoint's legs must read
// as a timeline (first barrier → captured → files out → ack posted → last ack taken → all in →
// folder synced → _metadata → root synced → completed → _latest, the last off the completion
// path), the writer thread's marks must fall after
// the files were handed over and before the checkpoint counted everything in (a task
// acknowledges files still being written; the coordinator waits for the writer's notice that
// each is durable), and `files` must be the number of state files the checkpoint's folder
// holds on disk.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runJob } from '../../core/index.js';
import { repoRoot } from '../helpers/paths.js';

const JOB = join(repoRoot, 'bench', 'jobs', 'slow-sink.mjs');
/** Cross-thread comparisons: every thread's timeOrigin is the process's, up to rounding. */
const SKEW_MS = 0.5;

describe('checkpoint tail legs', () => {
  it('read as a timeline and count the files on disk', async () => {
    const chk = mkdtempSync(join(tmpdir(), 'eddy-tail-'));
    try {
      // Under backpressure (the sink spins 50 µs a record, ~0.7 s in all) with small rings, so
      // data is in flight at every barrier until the sources have written their last records.
      const res = await runJob(JOB, {
        parallelism: 2,
        mode: 'exactly-once',
        unaligned: true,
        ringCapacity: 32 * 1024,
        batchSize: 1024,
        checkpointIntervalMs: 50,
        checkpointDir: chk,
        retainedCheckpoints: 1000,
        args: { count: '28000', keys: '1000', spinUs: '50' },
      });
      assert.equal(res.restarts, 0);
      const steady = res.checkpoints.filter((k) => !k.final && k.unaligned);
      assert.ok(steady.length >= 2, `${steady.length} unaligned checkpoints`);
      assert.ok(
        steady.some((k) => k.inFlightBytes > 0),
        'data was in flight at some barrier',
      );
      for (const k of res.checkpoints) {
        const what = `checkpoint ${k.id}: ${JSON.stringify(k)}`;
        const c = k.completion;
        assert.ok(c !== undefined, what);
        const timeline = [
          k.startDelayMs,
          k.capturedAtMs,
          k.writtenAtMs,
          k.ackedAtMs,
          c.lastAckMs,
          c.ackTakenMs,
          c.dirSyncedMs,
          c.metadataMs,
          c.rootSyncedMs,
          c.completedMs,
          c.latestMs,
        ];
        assert.ok(
          timeline.every((t) => t !== undefined && t >= 0),
          what,
        );
        for (let i = 1; i < timeline.length; i++)
          assert.ok(timeline[i]! >= timeline[i - 1]! - SKEW_MS, `leg ${i} before leg ${i - 1}: ${what}`);
        assert.equal(c.ackTakenMs, k.durationMs, what);
        // Every state file on disk in chk-N (not _metadata) is one the tasks counted.
        const onDisk = readdirSync(join(chk, `chk-${k.id}`)).filter((f) => !f.startsWith('_') && !f.startsWith('.'));
        assert.equal(k.files, onDisk.length, `${what}; on disk: ${onDisk.join(', ')}`);
        if (!k.unaligned) continue;
        // Unaligned files go through the writer thread: taken after being handed over, and
        // durable before the checkpoint counted all in (its duration); the in-flight data
        // encoded after its barriers were located.
        assert.ok(k.writerTookAtMs !== undefined && k.syncedAtMs !== undefined, what);
        assert.ok(k.writerTookAtMs <= k.syncedAtMs && k.syncedAtMs <= c.ackTakenMs + SKEW_MS, what);
        // Each file is counted in by one of two events: a file acknowledged while still being
        // written by its writer's notice (the last such taken: durableTakenMs), any other by its
        // task's ack, posted after the task had the writer's reply (the last taken: lastAckMs).
        // The writer marks are the latest over all files, so they may come after durableTakenMs
        // (a task that took its reply before acknowledging), never after both.
        const countedIn = Math.max(c.lastAckMs!, c.durableTakenMs ?? 0);
        assert.ok(k.syncedAtMs <= countedIn + SKEW_MS, what);
        if (c.durableTakenMs !== undefined) assert.ok(c.durableTakenMs <= c.ackTakenMs, what);
        assert.ok(k.locatedAtMs !== undefined && k.locatedAtMs <= k.ackedAtMs!, what);
        if (k.inFlightBytes > 0) assert.ok(k.encodedAtMs !== undefined && k.encodedAtMs <= k.writtenAtMs!, what);
      }
    } finally {
      rmSync(chk, { recursive: true, force: true });
    }
  });
});
