// A checkpoint while a source whose input has ended waits behind a full ring (its last drain):
// the source writes its whole input at once and ends with its last batch still pending in
// front of a slow stage (test/fixtures/jobs/final-drain.mjs), so it spends hundreds of ms in
// that drain. The drain serves the armed trigger as every drain does, so periodic unaligned
// checkpoints go on during it, each started at its due time (its barrier overtakes the pending
// batch and end-of-stream), where they used to wait for the whole drain. The committed output
// is the input, exactly. Traced, the source's waits in that drain are its `sourceWait`, marked
// `afterEnd`.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { runJob } from '../../core/index.js';
import { readCommitted } from '../helpers/validating-output.js';
import { fixture } from '../helpers/paths.js';

// The source's waits are recorded only in traced runs (read by each worker as it starts).
process.env.EDDY_CHECKPOINT_TRACE = '1';

const COUNT = 300;
const PAD = 25;
const SLOW_US = 4000;

interface LogLine {
  ended?: number;
  snapshot?: number;
  at?: number;
}

test('periodic unaligned checkpoints start on time during the last drain of a source whose input ended; output exact', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'eddy-final-drain-'));
  try {
    const log = join(dir, 'log');
    const result = await runJob(fixture('final-drain.mjs'), {
      parallelism: 1,
      mode: 'exactly-once',
      unaligned: true,
      // Two frames of 100 records (~4 KB) fill the ring; a third, the last, waits behind them.
      ringCapacity: 8 * 1024,
      batchSize: 100,
      checkpointIntervalMs: 50,
      args: { count: String(COUNT), pad: String(PAD), slowUs: String(SLOW_US), output: join(dir, 'out'), log },
    });

    const lines = readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as LogLine);
    const endedAt = lines[0].ended!;
    const afterEnd = new Map(lines.slice(1).map((l) => [l.snapshot!, l.at!]));
    const final = result.checkpoints.find((c) => c.final)!;
    assert.ok(final !== undefined && afterEnd.has(final.id), 'the final checkpoint was taken after the input ended');
    // The source takes no periodic checkpoint after its drain (an armed one gives way to the
    // final): from its input's end to the final snapshot is the drain, and a little more.
    const drainMs = afterEnd.get(final.id)! - endedAt;
    assert.ok(drainMs >= 300, `the source spent ${drainMs.toFixed(0)} ms in its last drain (the setup makes it long)`);

    const inDrain = result.checkpoints.filter((c) => !c.final && afterEnd.has(c.id));
    const seen = JSON.stringify(
      inDrain.map((c) => ({ id: c.id, at: afterEnd.get(c.id)! - endedAt, startDelayMs: c.startDelayMs, durationMs: c.durationMs })),
    );
    // Before the drain served the trigger, the one periodic checkpoint due in it started when
    // the drain ended (its start delay most of the drain), and none followed it.
    assert.ok(inDrain.length >= 2, `periodic checkpoints during the ${drainMs.toFixed(0)} ms drain: ${seen}`);
    for (const c of inDrain) {
      assert.ok(c.unaligned, `checkpoint ${c.id} unaligned`);
      assert.ok(c.startDelayMs < drainMs / 2, `start delays far below the ${drainMs.toFixed(0)} ms drain: ${seen}`);
    }
    // Traced: the source was in its last drain when those checkpoints came, and says so.
    assert.ok(
      inDrain.some((c) => c.sourceWait?.afterEnd === true),
      `a wait of the last drain is a checkpoint's sourceWait: ${JSON.stringify(inDrain.map((c) => c.sourceWait))}`,
    );
    const beforeEnd = result.checkpoints.filter((c) => !afterEnd.has(c.id));
    assert.ok(
      beforeEnd.every((c) => c.sourceWait?.afterEnd === undefined),
      'no wait before the input ended is marked afterEnd',
    );

    const expected = Array.from({ length: COUNT }, (_, i) => ({ i, pad: 'x'.repeat(PAD) }));
    const out = readCommitted<{ i: number; pad: string }>(join(dir, 'out')).sort((a, b) => a.i - b.i);
    assert.deepEqual(out, expected, 'committed output equals the input, each record once');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
