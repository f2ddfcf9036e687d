// test-lane: pair
// windowAll / countWindowAll (Flink's AllWindowedStream): windows over the whole stream on one
// subtask. The global top 3 pages of each window and count-window sums equal plain
// references; a non-keyed window refuses parallelism > 1. Lateness, the late side output and
// every window function on windowAll are in windows-random.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runJob } from '../../core/index.js';
import { EddyError } from '../../core/failure.js';
import { fixture } from '../helpers/paths.js';

const pageOf = (i: number) => (((i * 2654435761) >>> 0) % 97) % (1 + (i % 13));
const tsOf = (i: number) => 1000 + 7 * i - (((i * 40503) >>> 0) % 50);

describe('windowAll and countWindowAll', () => {
  it('global top 3 pages per tumbling window (keyed counts at parallelism 3, then windowAll) equal a plain reference', async () => {
    const count = 20_000;
    const size = 2000;
    const counts = new Map<number, Map<number, number>>();
    for (let i = 0; i < count; i++) {
      const start = Math.floor(tsOf(i) / size) * size;
      const m = counts.get(start) ?? new Map<number, number>();
      m.set(pageOf(i), (m.get(pageOf(i)) ?? 0) + 1);
      counts.set(start, m);
    }
    const expected = [...counts]
      .map(([start, m]) => ({
        start,
        end: start + size,
        top: [...m].sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, 3),
      }))
      .sort((a, b) => a.start - b.start);
    const r = await runJob(fixture('time/window-all.mjs'), {
      parallelism: 3,
      args: { job: 'topn', count: String(count), size: String(size) },
    });
    const got = (r.collected?.out as typeof expected).sort((a, b) => a.start - b.start);
    assert.equal(got.length, expected.length, 'one result per window: the global window ran once, not per subtask');
    assert.deepEqual(got, expected);
  });

  it('countWindowAll(7): sums of every 7 records in arrival order; the incomplete last window never fires', async () => {
    const count = 1000;
    const expected: number[] = [];
    for (let s = 0; s + 7 <= count; s += 7) expected.push(7 * s + 21);
    const r = await runJob(fixture('time/window-all.mjs'), { parallelism: 3, args: { job: 'count', count: String(count), size: '7' } });
    // The sink runs at the job's parallelism: collected order mixes its subtasks, hence the sort.
    assert.deepEqual(
      (r.collected?.out as number[]).sort((a, b) => a - b),
      expected,
    );
  });

  it('setParallelism(2) on a windowAll is refused, naming the operator', async () => {
    await assert.rejects(
      runJob(fixture('time/window-all.mjs'), { args: { job: 'parallel', count: '10' } }),
      (e: unknown) => e instanceof EddyError && e.code === 'GRAPH_INVALID' && /'all'/.test(e.message) && /at most 1/.test(e.message),
    );
  });
});
