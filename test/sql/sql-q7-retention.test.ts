/**
 * Nexmark q7 as written (examples/nexmark-sql/q7.sql): every bid joined with its 10 s tumbling
 * window's MAX(price) row B1 by price, where B.dateTime BETWEEN B1.dateTime - 10 s AND
 * B1.dateTime and B1.dateTime is the window's end. A regular join in Flink and here; the join
 * now drops a bid from state once no later B1 row can match it (join-retention.ts). The result
 * must still be the regular join's, which the reference here computes from SQL's meaning:
 * B1 = one row per window over the bids the window aggregate keeps (late ones dropped), then
 * every bid, late ones included (a regular join has no lateness), paired with every B1 row of
 * its price whose end is in [dateTime, dateTime + 10 s]. The bids are out of order within the
 * watermark delay, tie at the maximum, sit exactly on a window's end (a candidate of the window
 * before) and some are very late: half of those at their window's maximum (they still join),
 * half above it (they would change it, were they counted). The final checkpoint shows the bid
 * side's state empty and the B1 rows kept.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runJob, StreamExecutionEnvironment } from '../../core/index.js';
import { SqlSession } from '../../core/sql/index.js';
import { canonRows } from '../helpers/json-rows.js';
import { keyedEntriesByTable } from '../helpers/keyed-state-entries.js';
import { fixture, repoRoot } from '../helpers/paths.js';
import { prng } from '../helpers/prng.js';
import { writeLookupFunctions } from '../helpers/lookup-udf.js';

const N = 1400;
/** Rows per second of wall-clock time: a late row comes at least 0.8 s after its window fired. */
const RATE = 1000;
const BASE = Date.UTC(2024, 0, 1);
const SIZE = 10_000;
const DELAY = 1000;
/** From this row on, one row in 19 is very late: its time is in the first window, which the stream passed by row ~110. */
const LATE_FROM = 1000;

interface Bid {
  id: number;
  auction: number;
  price: number;
  ts: number;
  late: boolean;
}

const windowOf = (ts: number): number => Math.floor(ts / SIZE) * SIZE;

/** MAX(price) per window start over the bids the window aggregate keeps. */
function maxima(bids: Bid[]): Map<number, number> {
  const m = new Map<number, number>();
  for (const b of bids) if (!b.late) m.set(windowOf(b.ts), Math.max(m.get(windowOf(b.ts)) ?? -Infinity, b.price));
  return m;
}

function bids(): Bid[] {
  const rnd = prng(7);
  const out: Bid[] = [];
  for (let i = 0; i < N; i++) {
    const late = i >= LATE_FROM && i % 19 === 3;
    // 100 ms a row, out of order within the watermark delay; every 100th row exactly on a window's end.
    const onEdge = i % 100 === 0;
    const ts = late ? BASE + Math.floor(rnd() * SIZE) : BASE + i * 100 + (onEdge ? 0 : Math.floor(rnd() * (DELAY - 1)));
    // Small price ranges, different per window: the maximum is often shared.
    const price = 1 + Math.floor(rnd() * (8 + 4 * (Math.floor(i / 100) % 4)));
    out.push({ id: i, auction: 1000 + Math.floor(rnd() * 50), price, ts, late });
  }
  // Edge bids at the maximum of the window they end; late bids at or above their window's maximum.
  const first = maxima(out);
  for (const b of out) if (!b.late && b.ts === windowOf(b.ts) && first.has(b.ts - SIZE)) b.price = Math.max(b.price, first.get(b.ts - SIZE)!);
  const max = maxima(out);
  out.filter((b) => b.late).forEach((b, k) => (b.price = max.get(windowOf(b.ts))! + (k % 2 === 0 ? 0 : 5)));
  return out;
}

type Row = Record<string, number | string>;

/**
 * The regular join's result: every bid with every B1 row of its price whose end is in [ts, ts + 10 s].
 * q7 selects (auction, price, bidder, …) into a table declared (auction, bidder, price, …): by position.
 */
function reference(data: Bid[]): Row[] {
  const out: Row[] = [];
  const b1 = [...maxima(data)].map(([start, maxprice]) => ({ end: start + SIZE, maxprice }));
  for (const b of data) {
    for (const r of b1) if (b.price === r.maxprice && b.ts >= r.end - SIZE && b.ts <= r.end) out.push({ auction: b.auction, bidder: b.price, price: b.id, dateTime: b.ts, extra: `x${b.id}` });
  }
  return out;
}

/** q7's statements with the collect sink, over a paced datagen bid table whose columns are looked up in the arrays above. */
const script = (dir: string): string => `
CREATE FUNCTION bid_auction AS '${dir}/auction.mjs';
CREATE FUNCTION bid_price AS '${dir}/price.mjs';
CREATE FUNCTION bid_time AS '${dir}/time.mjs';
CREATE TABLE bid (id BIGINT, auction AS bid_auction(id), bidder AS id + 0, price AS bid_price(id), extra AS CONCAT('x', CAST(id AS VARCHAR)),
  \`dateTime\` AS CAST(bid_time(id) AS TIMESTAMP(3)),
  WATERMARK FOR \`dateTime\` AS \`dateTime\` - INTERVAL '1' SECOND)
  WITH ('connector' = 'datagen', 'rows-per-second' = '${RATE}', 'number-of-rows' = '${N}',
  'fields.id.kind' = 'sequence', 'fields.id.start' = '0', 'fields.id.end' = '${N - 1}');
${readFileSync(join(repoRoot, 'examples', 'nexmark-sql', 'q7.sql'), 'utf8').replaceAll('${SINK}', 'collect')}
`;

describe('SQL Nexmark q7: the regular join forgets bids no later window row can match', () => {
  let dir: string;
  let data: Bid[];
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'eddy-sql-q7-'));
    data = bids();
    writeLookupFunctions(dir, { auction: data.map((b) => b.auction), price: data.map((b) => b.price), time: data.map((b) => b.ts) });
    writeFileSync(join(dir, 'q.sql'), script(dir));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('the data have the cases: ties, bids on a window end joining the window before, late bids that join and that would change the maximum', () => {
    const ref = reference(data);
    const perWindow = new Map<number, number>();
    for (const r of ref) if (r.dateTime !== windowOf(r.dateTime as number)) perWindow.set(windowOf(r.dateTime as number), (perWindow.get(windowOf(r.dateTime as number)) ?? 0) + 1);
    assert.ok([...perWindow.values()].filter((n) => n > 1).length >= 5, 'windows where bids share the maximum');
    const max = maxima(data);
    assert.ok(ref.some((r) => r.dateTime === windowOf(r.dateTime as number) && r.bidder === max.get((r.dateTime as number) - SIZE)), 'a bid on a window end joins the window before');
    const late = new Set(data.filter((b) => b.late).map((b) => b.id));
    assert.ok(ref.filter((r) => late.has(r.price as number)).length >= 5, 'late bids at the maximum join');
    assert.notDeepEqual(canonRows(reference(data.map((b) => ({ ...b, late: false })))), canonRows(ref), 'counting late bids would change the result');
  });

  it('EXPLAIN: a regular join whose bid side is kept until the watermark passes dateTime + 9999 ms', () => {
    const s = new SqlSession(new StreamExecutionEnvironment({}));
    const r = s.execute(script(dir).replace('INSERT INTO nexmark_q7', 'EXPLAIN INSERT INTO nexmark_q7')).find((x) => x.kind === 'explain');
    assert.ok(r?.kind === 'explain');
    assert.match(r.plan, /inner join on \(B\.price = B1\.maxprice\) .*\(append-only\), left rows kept until the watermark passes dateTime \+ 9999 ms/, r.plan);
  });

  for (const parallelism of [1, 3]) {
    it(`results at parallelism ${parallelism} equal the regular join's; the final checkpoint holds no bid and every window row`, { timeout: 60_000 }, async () => {
      const chk = join(dir, `chk-${parallelism}`);
      // Watermarks every 2 ms (about every other bid), not every 200: a bid forgotten too early
      // would be gone before the window row it matches arrives, not forgotten at the same watermark.
      const res = await runJob(fixture('sql-watermark-interval.mjs'), { parallelism, mode: 'exactly-once', checkpointIntervalMs: 300, checkpointDir: chk, args: { sql: join(dir, 'q.sql'), 'watermark-ms': '2' } });
      // At parallelism 3 the source subtasks start when their workers do, and the watermark is the
      // slowest one's: whether a late bid finds its window fired depends on how far apart they
      // started, so the first window's rows (the late bids') are compared at parallelism 1 only.
      const compared = (rows: Row[]): Row[] => (parallelism === 1 ? rows : rows.filter((r) => (r.dateTime as number) > BASE + SIZE));
      const got = res.collected['sql-nexmark_q7-sink-1'] as Array<Row | { kind: string; row: Row }> | undefined;
      assert.ok(got, `collected (${Object.keys(res.collected).join(', ')})`);
      const rows = got.map((x) => ('row' in x && 'kind' in x ? (assert.equal(x.kind, '+I'), x.row as Row) : (x as Row)));
      assert.deepEqual(canonRows(compared(rows)), canonRows(compared(reference(data))));
      const state = await keyedEntriesByTable(chk, 'sql-nexmark_q7-join-1');
      assert.equal(state.entries.left ?? 0, 0, `bids left in checkpoint ${state.checkpointId}`);
      assert.equal(state.entries.right, maxima(data).size, 'one B1 row per window, kept');
    });
  }
});
