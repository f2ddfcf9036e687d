/**
 * Nexmark q7 as written (examples/nexmark-sql/q7.sql): every bid joined with its 10 s tumbling
 * window's MAX(price) row B1 by price, where B.dateTime BETWEEN B1.dateTime - 10 s AND
 * B1.dateTime and B1.dateTime is the window's end. A regular join in Flink; here the planner
 * fuses it into one keyed stage (join-extreme.ts) that keeps per window only the bids at the
 * running MAX, and falls back to the regular join, with its retention (join-retention.ts), for
 * any other shape. Either way the result must be the regular join's, which the reference here
 * computes from SQL's meaning: B1 = one row per window over the bids the window aggregate keeps
 * (late ones dropped), then every bid, late ones included (a regular join has no lateness),
 * paired with every B1 row of its price whose end is in [dateTime, dateTime + 10 s]. The bids
 * are out of order within the watermark delay, tie at the maximum, sit exactly on a window's
 * end (a candidate of the window before) and some are very late: half of those at their
 * window's maximum (they still join), half above it (they would change it, were they counted).
 * Also: the fused plan with a function that throws and a worker that exits, resumed from
 * checkpoints; and a MIN with a 20 s bound, planned as the regular join, against its reference.
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

/** MAX(price) (or MIN) per window start over the bids the window aggregate keeps. */
function maxima(bids: Bid[], pick: (a: number, b: number) => number = Math.max): Map<number, number> {
  const m = new Map<number, number>();
  for (const b of bids) if (!b.late) m.set(windowOf(b.ts), m.has(windowOf(b.ts)) ? pick(m.get(windowOf(b.ts))!, b.price) : b.price);
  return m;
}

function bids(): Bid[] {
  const rnd = prng(7);
  const out: Bid[] = [];
  for (let i = 0; i < N; i++) {
    const late = i >= LATE_FROM && i % 19 === 3;
    // 100 ms a row, out of order within the watermark delay; every 100th row exactly on a window's end.
    const onEdge = i % 100 === 0;
    // Every other edge bid is followed by a bid of the window it ends (out of order, within the delay).
    const behindEdge = !late && i % 200 === 1 && i > 1;
    const ts = late
      ? BASE + Math.floor(rnd() * SIZE)
      : behindEdge
        ? BASE + (i - 1) * 100 - 1 - Math.floor(rnd() * 300)
        : BASE + i * 100 + (onEdge ? 0 : Math.floor(rnd() * (DELAY - 1)));
    // Small price ranges, different per window: the maximum is often shared.
    const price = 1 + Math.floor(rnd() * (8 + 4 * (Math.floor(i / 100) % 4)));
    out.push({ id: i, auction: 1000 + Math.floor(rnd() * 50), price, ts, late });
  }
  // Edge bids at the maximum of the window they end; late bids at or above their window's maximum.
  const first = maxima(out);
  for (const b of out)
    if (!b.late && b.ts === windowOf(b.ts) && first.has(b.ts - SIZE)) b.price = Math.max(b.price, first.get(b.ts - SIZE)!);
  // Such an edge bid comes above its window's maximum so far, and the bid after it raises the maximum to its price.
  for (let i = 200; i + 1 < N; i += 200)
    if (!out[i]!.late && !out[i + 1]!.late) out[i + 1]!.price = out[i]!.price = first.get(out[i]!.ts - SIZE)! + 3;
  const max = maxima(out);
  out.filter((b) => b.late).forEach((b, k) => (b.price = max.get(windowOf(b.ts))! + (k % 2 === 0 ? 0 : 5)));
  return out;
}

type Row = Record<string, number | string>;

/**
 * The regular join's result: every bid with every B1 row of its price whose end is in [ts, ts + span]
 * (q7: the MAX, span 10 s). q7 selects (auction, price, bidder, …) into a table declared
 * (auction, bidder, price, …): by position.
 */
function reference(data: Bid[], pick: (a: number, b: number) => number = Math.max, span = SIZE): Row[] {
  const out: Row[] = [];
  const b1 = [...maxima(data, pick)].map(([start, maxprice]) => ({ end: start + SIZE, maxprice }));
  for (const b of data) {
    for (const r of b1)
      if (b.price === r.maxprice && b.ts >= r.end - span && b.ts <= r.end)
        out.push({ auction: b.auction, bidder: b.price, price: b.id, dateTime: b.ts, extra: `x${b.id}` });
  }
  return out;
}

/** q7 with MIN and a 20 s bound: a bid may match three windows, and the planner keeps the regular join. */
const minQuery = (q7: string): string =>
  q7.replace('MAX(price)', 'MIN(price)').replace("B1.`dateTime`  - INTERVAL '10' SECOND", "B1.`dateTime`  - INTERVAL '20' SECOND");

/**
 * The price function, failing twice: it throws at bid 500 and exits its worker at bid 1100, each
 * once (a marker file remembers it across the restarts).
 */
function writeFaultyPrice(dir: string, prices: readonly number[]): void {
  writeFileSync(
    join(dir, 'price-faulty.mjs'),
    `import { existsSync, writeFileSync } from 'node:fs';
const v = ${JSON.stringify(prices)};
const once = (name) => { const f = ${JSON.stringify(dir)} + '/' + name; if (existsSync(f)) return false; writeFileSync(f, ''); return true; };
export default function at(i) {
  if (i === 500 && once('threw')) throw new Error('injected failure at bid 500');
  if (i === 1100 && once('exited')) process.exit(7);
  return v[i];
}
at.resultType = 'BIGINT';
`,
  );
}

/** q7's statements with the collect sink, over a paced datagen bid table whose columns are looked up in the arrays above. */
const script = (dir: string, query = (q7: string) => q7, price = 'price'): string => `
CREATE FUNCTION bid_auction AS '${dir}/auction.mjs';
CREATE FUNCTION bid_price AS '${dir}/${price}.mjs';
CREATE FUNCTION bid_time AS '${dir}/time.mjs';
CREATE TABLE bid (id BIGINT, auction AS bid_auction(id), bidder AS id + 0, price AS bid_price(id), extra AS CONCAT('x', CAST(id AS VARCHAR)),
  \`dateTime\` AS CAST(bid_time(id) AS TIMESTAMP(3)),
  WATERMARK FOR \`dateTime\` AS \`dateTime\` - INTERVAL '1' SECOND)
  WITH ('connector' = 'datagen', 'rows-per-second' = '${RATE}', 'number-of-rows' = '${N}',
  'fields.id.kind' = 'sequence', 'fields.id.start' = '0', 'fields.id.end' = '${N - 1}');
${query(readFileSync(join(repoRoot, 'examples', 'nexmark-sql', 'q7.sql'), 'utf8').replaceAll('${SINK}', 'collect'))}
`;

describe('SQL Nexmark q7: fused with its window MAX where the shape allows, else the regular join with retention; both give the regular join result', () => {
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
    for (const r of ref)
      if (r.dateTime !== windowOf(r.dateTime as number))
        perWindow.set(windowOf(r.dateTime as number), (perWindow.get(windowOf(r.dateTime as number)) ?? 0) + 1);
    assert.ok([...perWindow.values()].filter((n) => n > 1).length >= 5, 'windows where bids share the maximum');
    const max = maxima(data);
    assert.ok(
      ref.some((r) => r.dateTime === windowOf(r.dateTime as number) && r.bidder === max.get((r.dateTime as number) - SIZE)),
      'a bid on a window end joins the window before',
    );
    // (r.price is the bid's id and r.bidder its price: the sink's columns are filled by position.)
    const raisedAfter = (r: Row): boolean =>
      data.some((b) => !b.late && b.id > (r.price as number) && windowOf(b.ts) === (r.dateTime as number) - SIZE && b.price === r.bidder);
    assert.ok(
      ref.some(
        (r) => r.dateTime === windowOf(r.dateTime as number) && r.bidder === max.get((r.dateTime as number) - SIZE) && raisedAfter(r),
      ),
      'a bid on a window end joins the window before at a maximum that a later bid of that window sets',
    );
    const late = new Set(data.filter((b) => b.late).map((b) => b.id));
    assert.ok(ref.filter((r) => late.has(r.price as number)).length >= 5, 'late bids at the maximum join');
    assert.notDeepEqual(
      canonRows(reference(data.map((b) => ({ ...b, late: false })))),
      canonRows(ref),
      'counting late bids would change the result',
    );
  });

  const explain = (sql: string): string => {
    const r = new SqlSession(new StreamExecutionEnvironment({}))
      .execute(sql.replace('INSERT INTO nexmark_q7', 'EXPLAIN INSERT INTO nexmark_q7'))
      .find((x) => x.kind === 'explain');
    assert.ok(r?.kind === 'explain');
    return r.plan;
  };

  it('EXPLAIN: q7 is one fused stage (no window aggregate, no regular join); other shapes keep the regular join', () => {
    const fused = explain(script(dir));
    assert.match(fused, /sql-nexmark_q7-extreme-join-1 +extreme-join join with its own MAX\(price\) per TUMBLE window of 10000 ms/, fused);
    assert.doesNotMatch(fused, /-window-\d|q7-join-/, fused);
    // MIN over the same bounds is fused the same way.
    assert.match(explain(script(dir, (q) => q.replace('MAX(price)', 'MIN(price)'))), /extreme-join join with its own MIN\(price\)/);
    const regular =
      /sql-nexmark_q7-join-1 +join +inner join on \(B\.price = B1\.maxprice\) .*\(append-only\), left rows kept until the watermark passes dateTime \+ (\d+) ms/;
    const shapes: Array<[string, (q: string) => string, string]> = [
      ['a 20 s bound (three windows per bid)', minQuery, '19999'],
      [
        'a second aggregate in the subquery',
        (q) => q.replace('SELECT MAX(price) AS maxprice,', 'SELECT MAX(price) AS maxprice, COUNT(*) AS n,'),
        '9999',
      ],
      [
        'a condition on the bids the aggregate does not have',
        (q) => q.replace('WHERE B.`dateTime` BETWEEN', 'WHERE B.auction > 1010 AND B.`dateTime` BETWEEN'),
        '9999',
      ],
      [
        'a grouping column besides the window',
        (q) =>
          q
            .replace('GROUP BY window_start, window_end', 'GROUP BY window_start, window_end, auction')
            .replace('SELECT MAX(price) AS maxprice,', 'SELECT auction, MAX(price) AS maxprice,')
            .replace('ON B.price = B1.maxprice', 'ON B.price = B1.maxprice AND B.auction = B1.auction'),
        '9999',
      ],
    ];
    for (const [what, change, kept] of shapes) {
      const plan = explain(script(dir, change));
      assert.doesNotMatch(plan, /extreme-join/, `${what}:\n${plan}`);
      assert.equal(plan.match(regular)?.[1], kept, `${what}:\n${plan}`);
    }
    const left = explain(
      script(dir, (q) => q.replace('JOIN (', 'LEFT JOIN (').replace('ON B.price = B1.maxprice\nWHERE', 'ON B.price = B1.maxprice AND')),
    );
    assert.match(left, /-join-1 +join +left join on/, left);
  });

  /** The sink's rows of a run of `sql` (exactly-once), and the run's result. */
  async function run(sql: string, parallelism: number, chk: string, restart?: string) {
    writeFileSync(join(dir, 'run.sql'), sql);
    // Watermarks every 2 ms (about every other bid), not every 200: a bid forgotten too early
    // would be gone before the window row it matches arrives, not forgotten at the same watermark.
    const res = await runJob(fixture('sql-watermark-interval.mjs'), {
      parallelism,
      mode: 'exactly-once',
      checkpointIntervalMs: 300,
      checkpointDir: chk,
      // What the join holds at the end of input is read from the final checkpoint.
      keepFinalKeyedState: true,
      restart,
      args: { sql: join(dir, 'run.sql'), 'watermark-ms': '2' },
    });
    const got = res.collected['sql-nexmark_q7-sink-1'] as Array<Row | { kind: string; row: Row }> | undefined;
    assert.ok(got, `collected (${Object.keys(res.collected).join(', ')})`);
    return { res, rows: got.map((x) => ('row' in x && 'kind' in x ? (assert.equal(x.kind, '+I'), x.row as Row) : (x as Row))) };
  }

  for (const parallelism of [1, 3]) {
    it(
      `fused, parallelism ${parallelism}: results equal the regular join's; the final checkpoint holds no candidate and one MAX per window`,
      { timeout: 60_000 },
      async () => {
        const chk = join(dir, `chk-${parallelism}`);
        const { rows } = await run(script(dir), parallelism, chk);
        // At parallelism 3 the source subtasks start when their workers do, and the watermark is the
        // slowest one's: whether a late bid finds its window fired depends on how far apart they
        // started, so the first window's rows (the late bids') are compared at parallelism 1 only.
        const compared = (rs: Row[]): Row[] => (parallelism === 1 ? rs : rs.filter((r) => (r.dateTime as number) > BASE + SIZE));
        assert.deepEqual(canonRows(compared(rows)), canonRows(compared(reference(data))));
        const state = await keyedEntriesByTable(chk, 'sql-nexmark_q7-extreme-join-1');
        assert.equal(state.entries.candidates ?? 0, 0, `candidates left in checkpoint ${state.checkpointId}`);
        assert.equal(state.entries.extreme, maxima(data).size, 'one MAX per window, kept for late bids');
      },
    );
  }

  it(
    'fused, parallelism 1, a function that throws and a worker that exits: resumed from checkpoints, the committed rows are the fault-free ones',
    { timeout: 60_000 },
    async () => {
      writeFaultyPrice(
        dir,
        data.map((b) => b.price),
      );
      const { res, rows } = await run(script(dir, undefined, 'price-faulty'), 1, join(dir, 'chk-faults'), 'fixed:3:50');
      assert.equal(res.restarts, 2, 'both injected failures happened');
      assert.deepEqual(canonRows(rows), canonRows(reference(data)));
    },
  );

  it(
    'MIN with a 20 s bound keeps the regular join: results equal its reference, and its retention empties the bid side',
    { timeout: 60_000 },
    async () => {
      const chk = join(dir, 'chk-min');
      const min = (a: number, b: number) => Math.min(a, b);
      const { rows } = await run(script(dir, minQuery), 1, chk);
      const ref = reference(data, min, 2 * SIZE);
      assert.ok(
        ref.some(
          (r) => (r.dateTime as number) < windowOf(r.dateTime as number) + SIZE && ref.filter((x) => x.price === r.price).length > 1,
        ),
        'a bid matches two windows',
      );
      assert.deepEqual(canonRows(rows), canonRows(ref));
      const state = await keyedEntriesByTable(chk, 'sql-nexmark_q7-join-1');
      assert.equal(state.entries.left ?? 0, 0, `bids left in checkpoint ${state.checkpointId}`);
      assert.equal(state.entries.right, maxima(data, min).size, 'one B1 row per window, kept');
    },
  );
});
