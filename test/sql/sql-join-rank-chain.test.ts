/**
 * Nexmark q9's shape: an inner regular join of two append-only tables (auctions, bids) on
 * A.id = B.auction with B.dateTime BETWEEN A.dateTime AND A.expires, then ROW_NUMBER() OVER
 * (PARTITION BY A.id ORDER BY B.price DESC, B.dateTime ASC) <= 1. The join is append-only (an
 * inner join of append-only inputs emits no retraction), so the rank keeps one row per auction
 * id; and the join already partitions its rows by A.id, so the rank is keyed in place and chains
 * onto the join, with no exchange between them. EXPLAIN shows both; a rank by another column,
 * or over an outer join, keeps its exchange.
 *
 * The result is compared with a reference written here from the SQL: per auction id, among
 * every (auction, bid) pair with equal ids and the bid's time in the auction's range, the
 * highest price, then the earliest bid. The data have auction ids that repeat (two auctions,
 * disjoint ranges: ids are not unique in the view, and the plan must not assume it), an
 * auction placed after its bids in its table (its bids come first in theirs; both tables are
 * paced alike, so it arrives after them), and late bids (times far behind the watermark, which
 * a regular join still joins). The run is exactly-once at parallelism 2 with a worker thread
 * that exits in the join's task (a function in the output's projection, chained there) once
 * checkpoints have completed: the job restarts from its latest checkpoint, restoring the join's
 * encoded rows and the rank, and the committed changelog folds to the same table.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runJob, StreamExecutionEnvironment } from '../../core/index.js';
import { SqlSession } from '../../core/sql/index.js';
import { ListStateHandle } from '../../core/state/keyed-state.js';
import type { ListState } from '../../core/contract/state.js';
import type { EddyError } from '../../core/failure.js';
import { holdsEncodedRows, joinSideRows, OlderJoinRows, storedRowCount } from '../../core/sql/runtime/older-join-rows.js';
import { decodeKeyGroupChunk, encodeKeyGroupChunk, type KeyedSnapshot } from '../../core/state/snapshot-format.js';
import { HeapKeyedStore } from '../../core/state/heap/heap-keyed-store.js';
import { restoreKeyedChains } from '../../core/state/keyed-restore.js';
import { Packr, Unpackr } from 'msgpackr';
import { canonRows, changelogRows } from '../helpers/json-rows.js';
import { writeLookupFunctions } from '../helpers/lookup-udf.js';
import { fixture } from '../helpers/paths.js';
import { prng } from '../helpers/prng.js';

const SOAK = process.env.EDDY_SOAK === '1';
const BASE = Date.UTC(2024, 0, 1);
const AUCTIONS = 60;
const BIDS = 600;
/** Rows per second of each table (wall clock): the bids take 0.6 s. */
const RATE = 1000;
/** The auction placed last in its table, whose bids are the first ones. */
const AFTER_ID = 999;
/** The worker running the join exits at the first output row of a bid from this one on. */
const TRIP_AT = 400;

interface Auction {
  id: number;
  name: string;
  ts: number;
  expires: number;
}
interface Bid {
  auction: number;
  bidder: number;
  price: number;
  ts: number;
  late: boolean;
}

function data(): { auctions: Auction[]; bids: Bid[] } {
  const rnd = prng(11);
  const auctions: Auction[] = [];
  for (let i = 0; i < AUCTIONS - 1; i++) {
    // Ids 100..149, then 100..108 again: a second auction of an id opens after the first closed.
    const again = i >= 50;
    const ts = BASE + (again ? 4000 + (i - 50) * 50 : i * 50);
    auctions.push({ id: 100 + (i % 50), name: `a${i}`, ts, expires: ts + (again ? 1500 : 1000 + (i % 7) * 300) });
  }
  auctions.push({ id: AFTER_ID, name: `a${AUCTIONS - 1}`, ts: BASE, expires: BASE + 600 });
  const bids: Bid[] = [];
  for (let j = 0; j < BIDS; j++) {
    const late = j >= 300 && j % 37 === 0;
    // Times 10 ms apart (+1), late ones on +5: no two bids share a time, so price ties break by it.
    // A late bid's time is under 1.5 s, the watermark past 1.9 s by bid 300.
    const ts = late ? BASE + Math.floor(rnd() * 150) * 10 + 5 : BASE + j * 10 + 1;
    const auction = j < 5 ? AFTER_ID : 100 + Math.floor(rnd() * 50);
    // Late bids bid above the others: they win where their time is in an auction's range.
    bids.push({ auction, bidder: j, price: late ? 41 + Math.floor(rnd() * 10) : 1 + Math.floor(rnd() * 40), ts, late });
  }
  return { auctions, bids };
}

type Row = Record<string, number | string>;

/** The SQL's result, from its meaning: per auction id, the best bid in an auction's range. */
function reference({ auctions, bids }: ReturnType<typeof data>): Row[] {
  const best = new Map<number, { a: Auction; b: Bid }>();
  for (const a of auctions) {
    for (const b of bids) {
      if (b.auction !== a.id || b.ts < a.ts || b.ts > a.expires) continue;
      const cur = best.get(a.id);
      if (cur === undefined || b.price > cur.b.price || (b.price === cur.b.price && b.ts < cur.b.ts)) best.set(a.id, { a, b });
    }
  }
  return [...best.values()].map(({ a, b }) => ({
    id: a.id,
    name: a.name,
    ts: a.ts,
    expires: a.expires,
    bidder: b.bidder,
    price: b.price,
    bid_ts: b.ts,
  }));
}

const script = (dir: string, rank = 'A.id', joinKind = ''): string => `
CREATE FUNCTION a_id AS '${dir}/aid.mjs';
CREATE FUNCTION a_ts AS '${dir}/ats.mjs';
CREATE FUNCTION a_exp AS '${dir}/aexp.mjs';
CREATE FUNCTION b_auction AS '${dir}/bauction.mjs';
CREATE FUNCTION b_price AS '${dir}/bprice.mjs';
CREATE FUNCTION b_ts AS '${dir}/bts.mjs';
CREATE FUNCTION trip AS '${dir}/trip.mjs';
CREATE TABLE auction (i BIGINT, id AS a_id(i), name AS CONCAT('a', CAST(i AS VARCHAR)),
  \`dateTime\` AS CAST(a_ts(i) AS TIMESTAMP(3)), expires AS CAST(a_exp(i) AS TIMESTAMP(3)),
  WATERMARK FOR \`dateTime\` AS \`dateTime\` - INTERVAL '1' SECOND)
  WITH ('connector' = 'datagen', 'rows-per-second' = '${RATE}', 'number-of-rows' = '${AUCTIONS}',
  'fields.i.kind' = 'sequence', 'fields.i.start' = '0', 'fields.i.end' = '${AUCTIONS - 1}');
CREATE TABLE bid (j BIGINT, auction AS b_auction(j), bidder AS j + 0, price AS b_price(j),
  \`dateTime\` AS CAST(b_ts(j) AS TIMESTAMP(3)),
  WATERMARK FOR \`dateTime\` AS \`dateTime\` - INTERVAL '1' SECOND)
  WITH ('connector' = 'datagen', 'rows-per-second' = '${RATE}', 'number-of-rows' = '${BIDS}',
  'fields.j.kind' = 'sequence', 'fields.j.start' = '0', 'fields.j.end' = '${BIDS - 1}');
CREATE TABLE winners (id BIGINT, name VARCHAR, ts TIMESTAMP(3), expires TIMESTAMP(3), bidder BIGINT, price BIGINT, bid_ts TIMESTAMP(3))
  WITH ('connector' = 'collect');
INSERT INTO winners
SELECT id, name, \`dateTime\`, expires, trip(bidder), price, bid_ts FROM (
  SELECT A.id, A.name, A.\`dateTime\`, A.expires, B.bidder, B.price, B.\`dateTime\` AS bid_ts,
    ROW_NUMBER() OVER (PARTITION BY ${rank} ORDER BY B.price DESC, B.\`dateTime\` ASC) AS rownum
  FROM auction A ${joinKind ? `${joinKind} JOIN bid B ON` : ', bid B WHERE'} A.id = B.auction AND B.\`dateTime\` BETWEEN A.\`dateTime\` AND A.expires
)
WHERE rownum <= 1;
`;

/** A change with its TIMESTAMP columns as ms, as the reference has them. */
function inMs(c: { kind: string; row: Record<string, unknown> }): { kind: string; row: Record<string, unknown> } {
  return { kind: c.kind, row: Object.fromEntries(Object.entries(c.row).map(([k, v]) => [k, v instanceof Date ? v.getTime() : v])) };
}

describe('SQL join + Top-1 on the join key: append-only join, rank chained onto it', () => {
  let dir: string;
  const d = data();
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'eddy-sql-rank-chain-'));
    const { auctions: a, bids: b } = d;
    writeLookupFunctions(dir, {
      aid: a.map((x) => x.id),
      ats: a.map((x) => x.ts),
      aexp: a.map((x) => x.expires),
      bauction: b.map((x) => x.auction),
      bprice: b.map((x) => x.price),
      bts: b.map((x) => x.ts),
    });
    // Exits the worker thread it runs in once: at an output row of bid TRIP_AT or later once the
    // run's third checkpoint completed (its _latest file, in the folder named by the 'chk' file:
    // with incremental checkpoints usually a delta on an earlier one), else at the last winning
    // bid's row at the latest (every final winner is emitted, so the exit does not depend on
    // timing; the data test checks such bids exist). The marker holds the latest checkpoint id.
    const marker = join(dir, 'tripped');
    const lastWinner = Math.max(...reference(d).map((r) => r.bidder as number));
    writeFileSync(
      join(dir, 'trip.mjs'),
      `import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
export default function trip(j) {
  if (j < ${TRIP_AT} || existsSync(${JSON.stringify(marker)})) return j;
  const latest = join(readFileSync(${JSON.stringify(join(dir, 'chk'))}, 'utf8'), '_latest');
  const id = existsSync(latest) ? JSON.parse(readFileSync(latest, 'utf8')).id : 0;
  if (j >= ${lastWinner} || id >= 3) { writeFileSync(${JSON.stringify(marker)}, String(id)); process.exit(3); }
  return j;
}
trip.resultType = 'BIGINT';
`,
    );
    writeFileSync(join(dir, 'q.sql'), script(dir));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('the data have the cases: repeated auction ids that both win, an auction after its bids, late bids that win', () => {
    const ref = reference(d);
    const names = new Set(ref.map((r) => r.name));
    assert.ok(
      d.auctions.filter((a) => a.id !== AFTER_ID && names.has(a.name) && d.auctions.some((o) => o !== a && o.id === a.id)).length >= 2,
      'auctions sharing an id, each with bids',
    );
    assert.ok(
      ref.some((r) => r.id === AFTER_ID),
      'the auction placed after its bids has a winner',
    );
    const late = new Set(d.bids.filter((b) => b.late).map((b) => b.bidder));
    assert.ok(
      ref.some((r) => late.has(r.bidder as number)),
      'a late bid wins an auction',
    );
    assert.ok(
      ref.some((r) => (r.bidder as number) >= TRIP_AT),
      'a winning bid at or after the one the worker exits on',
    );
    assert.ok(
      ref.some((r) =>
        d.bids.some(
          (b) =>
            b.bidder !== r.bidder &&
            b.auction === r.id &&
            b.price === r.price &&
            b.ts > (r.bid_ts as number) &&
            b.ts <= (r.expires as number) &&
            b.ts >= (r.ts as number),
        ),
      ),
      'a price tie broken by the earlier bid',
    );
  });

  it('EXPLAIN: the join is append-only and the rank on its key chains onto it; other ranks keep their exchange', () => {
    const explain = (sql: string): string => {
      const r = new SqlSession(new StreamExecutionEnvironment({}))
        .execute(sql.replace('INSERT INTO winners', 'EXPLAIN INSERT INTO winners'))
        .find((x) => x.kind === 'explain');
      assert.ok(r?.kind === 'explain');
      return r.plan;
    };
    const q9 = explain(script(dir));
    assert.match(q9, /join-1 +join +inner join on \(A\.id = B\.auction\) .*\(append-only\)/, q9);
    assert.match(
      q9,
      /rank-1 +rank +Top-1 by ROW_NUMBER\(\) \(append-only input, one row per partition, chained: the input is partitioned by its PARTITION BY, per record\)/,
      q9,
    );
    // The other side's key column holds the same value: chained too.
    assert.match(explain(script(dir, 'B.auction')), /\(append-only input, one row per partition, chained/);
    const byBidder = explain(script(dir, 'B.bidder'));
    assert.match(byBidder, /rank +Top-1 by ROW_NUMBER\(\) \(append-only input, one row per partition, per record\)/, byBidder);
    const outer = explain(script(dir, 'A.id', 'LEFT'));
    assert.match(outer, /left join on .*\(changelog\)/, outer);
    assert.match(outer, /rank +Top-1 by ROW_NUMBER\(\) \(changelog input, per record\)/, outer);
  });

  // Incremental too (the Nexmark bench's q9 figures are given both ways): the restore reads a
  // delta chain of the join's encoded rows. EDDY_SOAK=1 runs it on LMDB too (its write-behind
  // cache holds the byte arrays the join appends past).
  const variants = [
    { stateBackend: 'heap' as const, incremental: false },
    { stateBackend: 'heap' as const, incremental: true },
    ...(SOAK ? [{ stateBackend: 'lmdb' as const, incremental: false }] : []),
  ];
  for (const { stateBackend, incremental } of variants) {
    const label = `${stateBackend}${incremental ? ', incremental' : ''}`;
    it(
      `exactly-once at parallelism 2 on ${label}, a worker of the join exits once: the committed changelog folds to the reference`,
      { timeout: 60_000 },
      async (t) => {
        rmSync(join(dir, 'tripped'), { force: true });
        const chk = join(dir, `chk-${stateBackend}${incremental ? '-incremental' : ''}`);
        writeFileSync(join(dir, 'chk'), chk);
        const res = await runJob(fixture('sql-watermark-interval.mjs'), {
          parallelism: 2,
          stateBackend,
          incremental,
          mode: 'exactly-once',
          checkpointIntervalMs: 100,
          checkpointDir: chk,
          restart: 'fixed:3:50',
          args: { sql: join(dir, 'q.sql'), 'watermark-ms': '20' },
        });
        assert.ok(existsSync(join(dir, 'tripped')), 'the worker exited');
        assert.equal(res.restarts, 1, 'one restart');
        // Usually a checkpoint completed before the exit and the restart restores the join's
        // encoded rows; on a very busy machine the restart may start from the beginning (the
        // restore of encoded rows is checked on its own below).
        const joinRestores = (res.stateRestores ?? []).filter((r) => r.uid === 'sql-winners-join-1');
        const latestAtExit = Number(readFileSync(join(dir, 'tripped'), 'utf8'));
        // Incremental: a base and a delta when the subtask held rows at an earlier checkpoint than
        // the one restored (a checkpoint before its first row writes no base), else the base alone.
        const files = joinRestores.map((r) => `subtask ${r.subtask}: ${r.filesRead} file(s)`).join(', ');
        t.diagnostic(
          joinRestores.length > 0
            ? `restarted from checkpoint ${latestAtExit} or later with the join state (${files})`
            : `restarted from the beginning (latest checkpoint at the exit: ${latestAtExit})`,
        );
        const got = res.collected['sql-winners-sink-1'];
        assert.ok(got, `collected (${Object.keys(res.collected).join(', ')})`);
        assert.deepEqual(changelogRows((got as Array<{ kind: string; row: Record<string, unknown> }>).map(inMs)), canonRows(reference(d)));
      },
    );
  }

  it("a join side's rows from an older checkpoint (encoded chunks, or the rows themselves) decode in order; another shape is refused", () => {
    const columns = ['id', 'name', 'ts', 'price'];
    const rows = [
      { id: 1, name: 'a1', ts: BASE, price: 3 },
      { id: 1, name: 'é "q"', ts: BASE + 1, price: null },
      { id: 1, name: '', ts: -5, price: 2 ** 40 },
    ];
    // The documented format: version 1, the column count (uint16 BE), then a msgpack array of
    // the columns in order per row; a list element per chunk.
    const packr = new Packr({ useRecords: false });
    const chunk = (rs: typeof rows) =>
      Uint8Array.from(
        Buffer.concat([Buffer.from([1, 0, columns.length]), ...rs.map((r) => packr.pack(columns.map((c) => r[c as keyof typeof r])))]),
      );
    const what = 'test: the left rows';
    const stored = roundTrip([chunk(rows.slice(0, 2)), chunk(rows.slice(2))]);
    assert.ok(stored[0] instanceof Uint8Array && holdsEncodedRows(stored));
    const state = new ListOfOne(stored);
    assert.deepEqual(joinSideRows(state, new OlderJoinRows(columns), what), rows, 'decoded, chunk after chunk');
    assert.deepEqual(state.value, rows, 'written back as rows, one a list element');
    assert.equal(storedRowCount(stored), 3);
    // Rows kept as they are (now, and before encoded rows): read as they are.
    const plain = new ListOfOne(roundTrip(rows));
    assert.equal(holdsEncodedRows(plain.value), false);
    assert.deepEqual(joinSideRows(plain, new OlderJoinRows(columns), what), rows);
    // Rows of another shape: refused with one line naming the state.
    assert.throws(
      () => joinSideRows(new ListOfOne(roundTrip([chunk(rows)])), new OlderJoinRows(['id']), what),
      (e: EddyError) => e.code === 'STATE_FAILED' && /^test: the left rows: the stored rows are of another form/.test(e.message),
    );
    assert.throws(
      () => joinSideRows(new ListOfOne(roundTrip([chunk(rows)])), undefined, what),
      (e: EddyError) => e.code === 'STATE_FAILED' && /^test: the left rows: the rows are stored encoded/.test(e.message),
    );
  });
});

describe('SQL join rows in incremental heap snapshots', () => {
  const columns = ['id', 'name'];
  /** A row's bytes as the documented format says: one msgpack array of the columns in order. */
  const rowBytes = (r: { id: number; name: string }) => new Packr({ useRecords: false }).pack([r.id, r.name]);
  /** A stored chunk as a checkpoint before plain rows held it: version 1, the column count (uint16 BE), the rows. */
  const chunkBytes = (rows: { id: number; name: string }[]) =>
    Uint8Array.from(Buffer.concat([Buffer.from([1, 0, columns.length]), ...rows.map(rowBytes)]));
  const KG = 3;
  const KEY = 'k';
  const unpackr = new Unpackr({ useRecords: true });
  /** Key group KG's chunk of a snapshot, decoded with msgpackr alone. */
  const rawChunk = (snap: KeyedSnapshot) => {
    const e = snap.index.find(([kg]) => kg === KG)!;
    return unpackr.unpack(snap.data.subarray(e[1], e[1] + e[2])) as unknown[];
  };

  it('a checkpoint from before (chunks of bytes) restores as rows, and later rows go to deltas as plain appended rows', async () => {
    const old = [
      { id: 1, name: 'a' },
      { id: 2, name: 'b' },
    ];
    const older = [{ id: 0, name: 'z' }];
    // The base: the key's list as a checkpoint before plain rows held it, two chunks.
    const base: KeyedSnapshot = (() => {
      const bytes = encodeKeyGroupChunk(KG, { tables: [['left', 'list']], entries: [0, KEY, [chunkBytes(older), chunkBytes(old)]] });
      return { data: bytes, keyGroups: { start: 0, end: 7 }, index: [[KG, 0, bytes.length]] };
    })();
    const store = new HeapKeyedStore(0, 7);
    restoreKeyedChains(store, [[base]]);
    const changes = store.trackChanges();
    const decoder = new OlderJoinRows(columns);
    const what = 'test: the left rows';
    const list = new ListStateHandle<unknown>(store, store.register('left', 'list'));
    store.setCurrentKey(KEY, KG);
    const restored = [...older, ...old];
    assert.deepEqual(joinSideRows(list, decoder, what), restored, 'restored');
    // The first checkpoint after a restore is full: the rows, as rows.
    changes.cut(1);
    const full = await store.snapshot(1, undefined).run();
    assert.deepEqual((rawChunk(full)[3] as unknown[])[2], restored);
    changes.confirm(1);
    const added = [
      { id: 3, name: 'c' },
      { id: 4, name: 'd' },
    ];
    store.setCurrentKey(KEY, KG);
    for (const r of added) {
      joinSideRows(list, decoder, what);
      list.add(r);
    }
    const delta2 = await store.snapshot(2, changes.cut(2)).run();
    // Delta 2 appends the two new rows at the key's length at its base, not the restored ones again.
    assert.deepEqual(rawChunk(delta2), [3, KG, [['left', 'list']], [], [], [0, KEY, added]]);
    changes.confirm(2);
    const all = [...restored, ...added];
    const fresh = new HeapKeyedStore(0, 7);
    restoreKeyedChains(fresh, [[full, delta2]]);
    fresh.setCurrentKey(KEY, KG);
    const again = new ListStateHandle<unknown>(fresh, fresh.register('left', 'list'));
    assert.deepEqual(joinSideRows(again, decoder, what), all, 'the chain restored');
    assert.equal(storedRowCount(again.get()), 5);
  });
});

/** A list state's value for one key, as the keyed store keeps it (the join's only use of ListState). */
class ListOfOne implements ListState<unknown> {
  constructor(public value: unknown[] = []) {}
  get(): unknown[] {
    return this.value;
  }
  add(v: unknown): void {
    this.value = [...this.value, v];
  }
  addAll(vs: readonly unknown[]): void {
    for (const v of vs) this.add(v);
  }
  update(vs: readonly unknown[]): void {
    this.value = vs.slice();
  }
  clear(): void {
    this.value = [];
  }
}

/** A list value through a key group chunk, as a checkpoint writes it and a restore reads it. */
function roundTrip(value: unknown[]): unknown[] {
  const bytes = encodeKeyGroupChunk(7, { tables: [['left', 'list']], entries: [0, 1, value] });
  return decodeKeyGroupChunk(Uint8Array.from(bytes), 7).entries[2] as unknown[];
}
