// test-lane: pair
// Nexmark q7 (the DataStream job) on hand-written bids at window edges, against the plain
// reference written from q7's SQL (test/helpers/nexmark-reference.ts). A bid exactly on a
// window's end is a candidate of two windows: it joins the window before only if its price is
// that window's final MAX. The generator rarely puts two bids of different prices on one edge,
// so this case was never hit: the job kept only the highest edge bids, and an edge bid at the
// MAX was lost when a higher edge bid had come first. Events go in through --arg input.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runJob } from '../../core/index.js';
import type { Bid } from '../../core/connectors/sources/nexmark/model.js';
import { compareCommitted, REFERENCES, type Data } from '../helpers/nexmark-reference.js';
import { repoRoot } from '../helpers/paths.js';

const T0 = 1_700_000_000_000; // a window start (a multiple of 10 s)

function bid(n: number, dt: number, price: number): Bid {
  return {
    auction: 1000 + n,
    bidder: 2000 + n,
    price,
    channel: 'Google',
    url: 'https://www.nexmark.com/x',
    dateTime: T0 + dt,
    extra: `e${n}`,
  };
}

/**
 * Window 1 [T0, T0+10 s): members at 100 and a later 120. Window 2 [T0+10 s, T0+20 s): on its
 * first millisecond (window 1's end) bids at 150, 120 and 90 arrive in that order, then members.
 * Window 1's MAX is 120, so the 120 on the edge joins window 1 though a 150 came before it;
 * 90 joins nothing. Window 3 has one member so every window before it fires in order.
 */
const BIDS: Bid[] = [
  bid(1, 1_000, 100),
  bid(2, 4_000, 100),
  bid(3, 9_000, 120),
  bid(4, 10_000, 150),
  bid(5, 10_000, 120),
  bid(6, 10_000, 90),
  bid(7, 12_000, 130),
  bid(8, 19_999, 150),
  bid(9, 25_000, 10),
];

describe('nexmark q7 at window edges', () => {
  const dirs: string[] = [];
  after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('an edge bid at the window before its MAX joins it, whatever edge bids came first (parallelism 2)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'eddy-q7-edges-'));
    dirs.push(dir);
    const input = join(dir, 'events.jsonl');
    writeFileSync(input, BIDS.map((b) => JSON.stringify({ event_type: 2, person: null, auction: null, bid: b })).join('\n') + '\n');
    const data: Data = { persons: [], auctions: [], bids: BIDS };
    const expected = REFERENCES.q7.expected(data);
    // The reference itself has the row this case is about: bid 5 (window 1's MAX, on its end).
    assert.ok(
      expected.some((r) => r.auction === 1005 && r.price === 120),
      'the reference joins the 120 on the edge to window 1',
    );
    const out = join(dir, 'out');
    await runJob(join(repoRoot, 'dist', 'examples', 'nexmark', 'q7.js'), { parallelism: 2, args: { input, output: out } });
    const { got, expected: e } = compareCommitted('q7', out, expected);
    assert.deepEqual(got, e);
  });
});
