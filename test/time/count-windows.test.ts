// Global windows with a purging count trigger (countWindow), and processing-time windows,
// which fire at the end of a bounded input rather than being lost.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runJob } from '../../core/index.js';
import { fixture } from '../helpers/paths.js';

describe('count and processing-time windows', () => {
  it('countWindow(3) emits every 3 records of a key, in order; the unfinished rest is not emitted', async () => {
    const N = 103;
    const r = await runJob(fixture('time/count-windows.mjs'), { parallelism: 2, args: { n: String(N) } });
    const got = (r.collected?.counted ?? []) as { key: number; vs: number[] }[];
    const expected: { key: number; vs: number[] }[] = [];
    for (let k = 0; k < 4; k++) {
      const vs = [];
      for (let i = k; i < N; i += 4) vs.push(i);
      for (let j = 0; j + 3 <= vs.length; j += 3) expected.push({ key: k, vs: vs.slice(j, j + 3) });
    }
    const order = (a: { key: number; vs: number[] }, b: { key: number; vs: number[] }) => a.key - b.key || a.vs[0] - b.vs[0];
    assert.deepEqual(got.sort(order), expected.sort(order));

    const proc = (r.collected?.['proc-out'] ?? []) as { key: number; v: number }[];
    const sums = new Map<number, number>();
    for (const p of proc) sums.set(p.key, (sums.get(p.key) ?? 0) + p.v);
    const want = new Map<number, number>();
    for (let i = 0; i < N; i++) want.set(i % 4, (want.get(i % 4) ?? 0) + i);
    assert.deepEqual(sums, want);
  });
});
