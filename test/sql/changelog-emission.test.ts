// The exact changes emitted for scripted inputs, as Flink's GroupAggFunction and
// RetractableTopNFunction emit them: no update when the aggregate did not change, -U/+U when it
// did, -D when a group's last row goes (and over inserts only, MIN/MAX from one kept value); re-ranked rows updated rank by rank, or with no row
// number only the rows that entered and left the top N.
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { runJob } from '../../core/index.js';

const JOB = fileURLToPath(new URL('./jobs/emission-job.js', import.meta.url));

describe('changelog emission', () => {
  // One run of the job serves both cases.
  let run: ReturnType<typeof runJob> | undefined;
  const result = () => (run ??= runJob(JOB, { parallelism: 1 }));
  it('GROUP BY and Top-N emit exactly the changes Flink emits', async () => {
    const { collected } = await result();
    assert.deepEqual(collected['agg-out'], [
      { kind: '+I', row: { k: 'a', hi: 5 } },
      // +I v=3: MAX stays 5, nothing emitted
      { kind: '-U', row: { k: 'a', hi: 5 } },
      { kind: '+U', row: { k: 'a', hi: 3 } },
      { kind: '-D', row: { k: 'a', hi: 3 } },
    ]);
    assert.deepEqual(collected['append-agg-out'], [
      { kind: '+I', row: { k: 'a', lo: 5, hi: 5 } },
      { kind: '-U', row: { k: 'a', lo: 5, hi: 5 } },
      { kind: '+U', row: { k: 'a', lo: 3, hi: 5 } },
      { kind: '-U', row: { k: 'a', lo: 3, hi: 5 } },
      { kind: '+U', row: { k: 'a', lo: 3, hi: 9 } },
      // v=4 changes neither
    ]);
    assert.deepEqual(collected['top-true-out'], [
      { kind: '+I', row: { id: 1, v: 10, rn: 1 } },
      // id 2 takes rank 1, id 1 moves to rank 2
      { kind: '-U', row: { id: 1, v: 10, rn: 1 } },
      { kind: '+U', row: { id: 2, v: 20, rn: 1 } },
      { kind: '+I', row: { id: 1, v: 10, rn: 2 } },
      // id 3 is below the top 2: nothing; deleting id 2 moves id 1 up and lets id 3 in
      { kind: '-U', row: { id: 2, v: 20, rn: 1 } },
      { kind: '+U', row: { id: 1, v: 10, rn: 1 } },
      { kind: '-U', row: { id: 1, v: 10, rn: 2 } },
      { kind: '+U', row: { id: 3, v: 5, rn: 2 } },
    ]);
    assert.deepEqual(collected['top-false-out'], [
      { kind: '+I', row: { id: 1, v: 10 } },
      { kind: '+I', row: { id: 2, v: 20 } },
      { kind: '-D', row: { id: 2, v: 20 } },
      { kind: '+I', row: { id: 3, v: 5 } },
    ]);
  });

  it('in mini-batches only the net change of each bundle', async () => {
    const { collected } = await result();
    // Bundles (+I 5, +I 3) and (-D 5, -D 3): the group appears with MAX 5 and goes.
    assert.deepEqual(collected['agg-mb2-out'], [
      { kind: '+I', row: { k: 'a', hi: 5 } },
      { kind: '-D', row: { k: 'a', hi: 5 } },
    ]);
    // One bundle: the group comes and goes within it, nothing to emit.
    assert.deepEqual(collected['agg-mb100-out'] ?? [], []);
    // Bundles (+I id 1, +I id 2) and (+I id 3, -D id 2): each emits its top 2 before against after.
    assert.deepEqual(collected['top-true-mb2-out'], [
      { kind: '+I', row: { id: 2, v: 20, rn: 1 } },
      { kind: '+I', row: { id: 1, v: 10, rn: 2 } },
      { kind: '-U', row: { id: 2, v: 20, rn: 1 } },
      { kind: '+U', row: { id: 1, v: 10, rn: 1 } },
      { kind: '-U', row: { id: 1, v: 10, rn: 2 } },
      { kind: '+U', row: { id: 3, v: 5, rn: 2 } },
    ]);
    assert.deepEqual(collected['top-false-mb2-out'], [
      { kind: '+I', row: { id: 2, v: 20 } },
      { kind: '+I', row: { id: 1, v: 10 } },
      { kind: '-D', row: { id: 2, v: 20 } },
      { kind: '+I', row: { id: 3, v: 5 } },
    ]);
  });
});
