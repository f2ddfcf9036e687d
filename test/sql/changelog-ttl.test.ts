// Idle-state TTL (Flink's table.exec.state.ttl) in processing time, with the engine's state
// TTL underneath: a group untouched for longer than the TTL is forgotten, so its next record
// starts it again (+I with only that record, no -U of the old result); a group touched more
// often than the TTL keeps counting; a join row older than the TTL no longer joins.
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { runJob } from '../../core/index.js';
import type { ChangeRow } from '../../core/sql/runtime/index.js';
import { GAP, schedule, STEP } from './jobs/ttl-job.js';

const JOB = fileURLToPath(new URL('./jobs/ttl-job.js', import.meta.url));

describe('idle-state TTL', () => {
  it(`GROUP BY and join with ttl 1 s: a key idle for ${GAP} ms starts over, a key touched every ${STEP} ms is kept`, async () => {
    const result = await runJob(JOB, { parallelism: 2 });
    const agg = result.collected['agg-out'] as ChangeRow[];
    // 'a': its first record, then forgotten, then its second record alone.
    assert.deepEqual(
      agg.filter((c) => c.row.k === 'a'),
      [
        { kind: '+I', row: { k: 'a', n: 1, total: 1 } },
        { kind: '+I', row: { k: 'a', n: 1, total: 5 } },
      ],
    );
    // 'b': never idle for the TTL, so one group counting all of its records.
    const bs = schedule().filter((e) => e[2].k === 'b').length;
    const b = agg.filter((c) => c.row.k === 'b');
    assert.deepEqual(b[0], { kind: '+I', row: { k: 'b', n: 1, total: 1 } });
    assert.deepEqual(b.at(-1), { kind: '+U', row: { k: 'b', n: bs, total: bs } });
    assert.equal(b.filter((c) => c.kind === '+I').length, 1, "'b' was never forgotten");
    // The join: 'j' waited longer than the TTL and found nothing; 'm' joined.
    assert.deepEqual(result.collected['join-out'], [{ kind: '+I', row: { k: 'm', l: 2, r: 4 } }]);
  });
});
