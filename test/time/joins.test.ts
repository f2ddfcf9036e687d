// test-lane: pair
// Interval and window joins of two event-time streams equal the pairs computed here by brute force.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runJob } from '../../core/index.js';
import { fixture } from '../helpers/paths.js';

const N = 1500;
const KEYS = 4;
const leftT = (i: number) => 10 * i;
const rightT = (j: number) => 7 * j + 3;

function pairs(match: (l: number, r: number) => boolean): string[] {
  const out: string[] = [];
  for (let l = 0; l < N; l++) for (let r = 0; r < N; r++) if (l % KEYS === r % KEYS && match(l, r)) out.push(`${l}-${r}`);
  return out.sort();
}

async function run(args: Record<string, string>): Promise<string[]> {
  const r = await runJob(fixture('time/joins.mjs'), { parallelism: 2, args: { n: String(N), keys: String(KEYS), ...args } });
  return ((r.collected?.out ?? []) as { l: number; r: number }[]).map((p) => `${p.l}-${p.r}`).sort();
}

describe('joins', () => {
  it('interval join between -15 and +20 ms', async () => {
    const expected = pairs((l, r) => rightT(r) >= leftT(l) - 15 && rightT(r) <= leftT(l) + 20);
    assert.ok(expected.length > 100);
    assert.deepEqual(await run({ kind: 'interval', lower: '-15', upper: '20' }), expected);
  });

  it('tumbling window join of 50 ms', async () => {
    const expected = pairs((l, r) => Math.floor(leftT(l) / 50) === Math.floor(rightT(r) / 50));
    assert.ok(expected.length > 100);
    assert.deepEqual(await run({ kind: 'window', size: '50' }), expected);
  });
});

describe('connect and side outputs', () => {
  it('co-map of two streams, split by ctx.output into a side output', async () => {
    const n = 2000;
    const r = await runJob(fixture('time/connect-side.mjs'), { parallelism: 2, args: { n: String(n) } });
    const sorted = (xs: unknown) => (xs as number[]).slice().sort((a, b) => a - b);
    assert.deepEqual(
      sorted(r.collected?.even),
      Array.from({ length: n }, (_, i) => i * 2),
    );
    assert.deepEqual(
      sorted(r.collected?.odd),
      Array.from({ length: n }, (_, i) => i * 2 + 1),
    );
  });
});
