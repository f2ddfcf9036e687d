// test-lane: pair
/**
 * The join-back fusion (core/sql/join-back.ts): a window aggregate joined back with an
 * aggregate over it grouped by the window (Nexmark q5's shape) runs as one keyed operator. The
 * results are compared with a reference written here from the SQL semantics, never by calling
 * eddy: per HOP window, the count per auction of the bids the window aggregate keeps, the
 * maximum per window (per window and category in the second statement), and every row whose
 * count is >= it. The data are random with ties (several auctions sharing the maximum), a gap in
 * event time (empty windows: nothing joins there) and very late rows (dropped by the window
 * aggregate: all their windows fired long before they arrive). The rows come from a paced
 * datagen table whose columns are looked up in the arrays written here (CREATE FUNCTION), at
 * parallelism 1 and 3. EXPLAIN shows the fused operator, and shapes that are not a join-back
 * keep the window join.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runJob, StreamExecutionEnvironment } from '../../core/index.js';
import { SqlSession } from '../../core/sql/index.js';
import { canonRows } from '../helpers/json-rows.js';
import { repoRoot } from '../helpers/paths.js';
import { prng } from '../helpers/prng.js';
import { writeLookupFunctions } from '../helpers/lookup-udf.js';

const SQL_JOB = join(repoRoot, 'dist', 'core', 'sql', 'sql-job.js');

const N = 1500;
/** Rows per second of wall-clock time: the late rows come at least 0.9 s after their windows' ends passed. */
const RATE = 1000;
const BASE = Date.UTC(2024, 0, 1);
const SLIDE = 2000;
const SIZE = 10_000;
const DELAY = 1000;
/** From this row on, one row in 23 is very late; the time of every other row grows by 100 ms a row. */
const LATE_FROM = 1200;
/** The late rows' times are in [BASE, BASE + LATE_SPAN). */
const LATE_SPAN = 8000;
/** Event time skipped after row 600: windows in the gap are empty. */
const GAP = 40_000;

interface Bid {
  auction: number;
  cat: number;
  ts: number;
  late: boolean;
}

function bids(): Bid[] {
  const rnd = prng(5);
  const out: Bid[] = [];
  for (let i = 0; i < N; i++) {
    // Few auctions, so counts are small and the maximum is often shared.
    const auction = 1 + Math.floor(rnd() * 5);
    const cat = auction % 2;
    const late = i >= LATE_FROM && i % 23 === 7;
    // Out of order within the watermark delay (never late), except the late rows: times in the
    // first 8 s, whose windows end by BASE + 18 s, which the stream passed at row ~190.
    const ts = late ? BASE + Math.floor(rnd() * LATE_SPAN) : BASE + i * 100 + (i > 600 ? GAP : 0) + Math.floor(rnd() * (DELAY - 1));
    out.push({ auction, cat, ts, late });
  }
  return out;
}

/** The HOP windows of a timestamp: starts at multiples of the slide, [start, start + size). */
function hopStarts(ts: number): number[] {
  const last = Math.floor(ts / SLIDE) * SLIDE;
  const out: number[] = [];
  for (let s = last; s > ts - SIZE; s -= SLIDE) out.push(s);
  return out;
}

/** COUNT(*) per (window start, auction) over the rows the window aggregate keeps. */
function counts(data: Bid[]): Map<number, Map<number, number>> {
  const w = new Map<number, Map<number, number>>();
  for (const b of data) {
    if (b.late) continue;
    for (const s of hopStarts(b.ts)) {
      const m = w.get(s) ?? w.set(s, new Map()).get(s)!;
      m.set(b.auction, (m.get(b.auction) ?? 0) + 1);
    }
  }
  return w;
}

type Row = Record<string, number>;

/** q5: per window, the auctions whose count is >= the window's maximum count. */
function hot(data: Bid[]): Row[] {
  const out: Row[] = [];
  for (const [ws, m] of counts(data)) {
    const max = Math.max(...m.values());
    for (const [auction, num] of m) if (num >= max) out.push({ auction, num, ws });
  }
  return out;
}

/** Per window and category (auction % 2), the auctions whose count is >= the category's maximum among counts >= `least`. */
function hotPerCategory(data: Bid[], least = 2): Row[] {
  const out: Row[] = [];
  for (const [ws, m] of counts(data)) {
    for (const cat of [0, 1]) {
      const inCat = [...m].filter(([a]) => a % 2 === cat);
      const kept = inCat.filter(([, n]) => n >= least).map(([, n]) => n);
      if (kept.length === 0) continue; // no row of the max side: the inner join keeps nothing
      const max = Math.max(...kept);
      for (const [auction, num] of inCat) if (num >= max) out.push({ auction, cat, num, ws });
    }
  }
  return out;
}

/** The bids: datagen ids, each row's columns looked up in the arrays above; the time attribute is a computed column. */
const TABLE = (dir: string): string => `
CREATE FUNCTION bid_auction AS '${dir}/auction.mjs';
CREATE FUNCTION bid_cat AS '${dir}/cat.mjs';
CREATE FUNCTION bid_time AS '${dir}/time.mjs';
CREATE TABLE bid (id BIGINT, auction AS bid_auction(id), cat AS bid_cat(id), dateTime AS CAST(bid_time(id) AS TIMESTAMP(3)),
  WATERMARK FOR dateTime AS dateTime - INTERVAL '1' SECOND)
  WITH ('connector' = 'datagen', 'rows-per-second' = '${RATE}', 'number-of-rows' = '${N}',
  'fields.id.kind' = 'sequence', 'fields.id.start' = '0', 'fields.id.end' = '${N - 1}');
`;

const HOP = `TABLE(HOP(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '2' SECOND, INTERVAL '10' SECOND))`;

/** Nexmark q5 as written, with the window start in the output. */
const Q5 = `
SELECT AuctionBids.auction, AuctionBids.num, AuctionBids.starttime
 FROM (
   SELECT auction, count(*) AS num, window_start AS starttime, window_end AS endtime
   FROM ${HOP} GROUP BY auction, window_start, window_end
 ) AS AuctionBids
 JOIN (
   SELECT max(CountBids.num) AS maxn, CountBids.starttime, CountBids.endtime
   FROM (
     SELECT count(*) AS num, window_start AS starttime, window_end AS endtime
     FROM ${HOP} GROUP BY auction, window_start, window_end
   ) AS CountBids
   GROUP BY CountBids.starttime, CountBids.endtime
 ) AS MaxBids
 ON AuctionBids.starttime = MaxBids.starttime AND AuctionBids.endtime = MaxBids.endtime AND AuctionBids.num >= MaxBids.maxn`;

/** The maximum per window and category, over counts > 1 (a WHERE inside the aggregate side), joined back on both. */
const PER_CATEGORY = `
SELECT A.auction, A.cat, A.num, A.starttime
 FROM (
   SELECT auction, cat, count(*) AS num, window_start AS starttime, window_end AS endtime
   FROM ${HOP} GROUP BY auction, cat, window_start, window_end
 ) AS A
 JOIN (
   SELECT max(C.num) AS maxn, C.cat, C.starttime, C.endtime
   FROM (
     SELECT auction, cat, count(*) AS num, window_start AS starttime, window_end AS endtime
     FROM ${HOP} GROUP BY auction, cat, window_start, window_end
   ) AS C
   WHERE C.num > 1
   GROUP BY C.cat, C.starttime, C.endtime
 ) AS M
 ON A.cat = M.cat AND A.starttime = M.starttime AND A.endtime = M.endtime AND A.num >= M.maxn`;

/** The maximum per window and category over every count: both sides only copy columns of the aggregate. */
const PER_CATEGORY_ALL = PER_CATEGORY.replace('   WHERE C.num > 1\n', '');

/** q5 beside a plain read of the same window aggregate: the aggregate has two readers, so its rows keep every column. */
const Q5_AND_COUNTS = `${Q5}
 UNION ALL
 SELECT auction, num, starttime FROM (
   SELECT auction, count(*) AS num, window_start AS starttime, window_end AS endtime
   FROM ${HOP} GROUP BY auction, window_start, window_end
 )`;

/** Every (auction, count, window start) of the window aggregate. */
function allCounts(data: Bid[]): Row[] {
  return [...counts(data)].flatMap(([ws, m]) => [...m].map(([auction, num]) => ({ auction, num, ws })));
}

const SINKS = `
CREATE TABLE hot (auction BIGINT, num BIGINT, ws TIMESTAMP(3)) WITH ('connector' = 'collect');
CREATE TABLE hot_cat (auction BIGINT, cat BIGINT, num BIGINT, ws TIMESTAMP(3)) WITH ('connector' = 'collect');
CREATE TABLE hot_cat_all (auction BIGINT, cat BIGINT, num BIGINT, ws TIMESTAMP(3)) WITH ('connector' = 'collect');
CREATE TABLE hot_all (auction BIGINT, num BIGINT, ws TIMESTAMP(3)) WITH ('connector' = 'collect');
`;

describe('SQL join-back fusion (Nexmark q5 shape)', () => {
  let dir: string;
  let data: Bid[];
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'eddy-sql-join-back-'));
    data = bids();
    writeLookupFunctions(dir, { auction: data.map((b) => b.auction), cat: data.map((b) => b.cat), time: data.map((b) => b.ts) });
    writeFileSync(
      join(dir, 'q.sql'),
      `${TABLE(dir)}${SINKS}INSERT INTO hot ${Q5};\nINSERT INTO hot_cat ${PER_CATEGORY};\nINSERT INTO hot_cat_all ${PER_CATEGORY_ALL};\nINSERT INTO hot_all ${Q5_AND_COUNTS};\n`,
    );
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('the data have the cases: shared maxima, empty windows, late rows', () => {
    const ref = hot(data);
    const perWindow = new Map<number, number>();
    for (const r of ref) perWindow.set(r.ws!, (perWindow.get(r.ws!) ?? 0) + 1);
    assert.ok([...perWindow.values()].filter((n) => n > 1).length >= 5, 'several windows where auctions share the maximum');
    const starts = [...counts(data).keys()].sort((a, b) => a - b);
    assert.ok(
      starts.some((s, i) => i > 0 && s - starts[i - 1]! > SLIDE),
      'windows without rows between windows with rows',
    );
    assert.ok(data.filter((b) => b.late).length >= 10, 'late rows');
    // Dropping them matters: counted, they would change the first windows' results.
    assert.notDeepEqual(canonRows(hot(data.map((b) => ({ ...b, late: false })))), canonRows(ref));
  });

  it('EXPLAIN: the join-back is one keyed operator; other shapes keep the window join', () => {
    const s = new SqlSession(new StreamExecutionEnvironment({}));
    s.execute(TABLE(dir) + SINKS + 'CREATE VIEW bid2 AS SELECT * FROM bid WHERE auction > 1;');
    const plan = (sql: string): string => {
      const r = s.execute(`EXPLAIN ${sql}`).find((x) => x.kind === 'explain');
      assert.ok(r?.kind === 'explain');
      return r.plan;
    };
    const q5 = plan(`INSERT INTO hot ${Q5}`);
    assert.match(q5, /^sql-hot-joinback-list-1\s+joinback-list\s.*keyed by \[AuctionBids\.starttime, AuctionBids\.endtime\]/m, q5);
    assert.doesNotMatch(q5, /^\S+\s+(join|filter)\s/m, q5);
    assert.doesNotMatch(q5, /window-2/, q5);
    assert.equal(q5.split('\n').length, 6, q5); // source+calc, the count window, the fused join, project, sink
    // Its only reader reads auction, the count and window_end of the aggregate's rows; window_start is window_end - size.
    assert.match(
      q5,
      /joinback-list\s.*; the aggregate's rows carry only \[auction, endtime, num\], window_start taken as window_end - 10000 ms$/m,
      q5,
    );
    const perCat = plan(`INSERT INTO hot_cat ${PER_CATEGORY}`);
    assert.match(perCat, /joinback-list\s.*keyed by \[A\.cat, A\.starttime, A\.endtime\]/, perCat);
    // A WHERE on the aggregate side: its calcs run per row of X (not in place), which reads X's rows whole.
    assert.doesNotMatch(perCat, /carry only/, perCat);
    const perCatAll = plan(`INSERT INTO hot_cat_all ${PER_CATEGORY_ALL}`);
    assert.match(perCatAll, /^\S+\s+window\s.*by \[auction, cat\]/m, perCatAll);
    assert.match(
      perCatAll,
      /joinback-list\s.*; the aggregate's rows carry only \[auction, cat, endtime, num\], window_start taken/,
      perCatAll,
    );
    // A second reader of the aggregate (the UNION's other branch) reads every column: nothing is narrowed.
    const twoReaders = plan(`INSERT INTO hot_all ${Q5_AND_COUNTS}`);
    assert.match(twoReaders, /joinback-list\s/, twoReaders);
    assert.doesNotMatch(twoReaders, /carry only/, twoReaders);
    // Joined on the window only, while the maximum is per category: a row meets other categories' maxima.
    const notCovered = plan(`INSERT INTO hot_cat ${PER_CATEGORY.replace('A.cat = M.cat AND ', '')}`);
    assert.match(notCovered, /^\S+\s+join\s+window join/m, notCovered);
    assert.doesNotMatch(notCovered, /joinback/, notCovered);
    // The maximum over another sub-plan (a filter the other side lacks): not the same rows.
    const otherInput = plan(`INSERT INTO hot ${Q5.replace(`FROM ${HOP}`, `FROM ${HOP.replace('TABLE bid', 'TABLE bid2')}`)}`);
    assert.doesNotMatch(otherInput, /joinback/, otherInput);
  });

  for (const parallelism of [1, 3]) {
    it(
      `results at parallelism ${parallelism} equal the reference (ties kept, empty windows, late rows dropped)`,
      { timeout: 60_000 },
      async () => {
        const res = await runJob(SQL_JOB, { parallelism, args: { 'sql.file': join(dir, 'q.sql') } });
        // At parallelism 3 the three source subtasks start when their workers do, and the
        // watermark is the slowest one's: whether a late row finds its windows fired depends on how
        // far apart they started, so the windows holding late rows are compared at parallelism 1 only.
        const compared = (rows: Row[]): Row[] => (parallelism === 1 ? rows : rows.filter((r) => r.ws! >= BASE + LATE_SPAN));
        const got = (name: string): string[] => {
          const rows = res.collected[`sql-${name}-sink-1`] as Row[] | undefined;
          assert.ok(rows, `${name}: collected (${Object.keys(res.collected).join(', ')})`);
          return canonRows(compared(rows));
        };
        assert.deepEqual(got('hot'), canonRows(compared(hot(data))), 'q5');
        assert.deepEqual(got('hot_cat'), canonRows(compared(hotPerCategory(data))), 'per category');
        assert.deepEqual(got('hot_cat_all'), canonRows(compared(hotPerCategory(data, 1))), 'per category, every count');
        assert.deepEqual(got('hot_all'), canonRows(compared([...hot(data), ...allCounts(data)])), 'q5 and every count');
      },
    );
  }
});
