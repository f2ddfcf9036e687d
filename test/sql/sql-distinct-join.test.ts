// test-lane: pair
/**
 * The window-distinct-join fusion (core/sql/window-distinct-join.ts): a window join of two window
 * aggregates without aggregate calls (Nexmark q8's persons and sellers) on one group column each
 * runs as one keyed TUMBLE window. The results are compared with a reference written here from
 * the SQL semantics, never by calling eddy: per 1 s tumbling window, the distinct (id, name) rows
 * of the persons, the distinct (seller[, cat]) rows of the auctions, and every pair of them with
 * id = seller. The data have duplicates on both sides, ids with two names, keys on one side only,
 * NULL ids and sellers (which join nothing) and several windows; event time is out of order
 * within the watermark delay (no row is late). The rows come from one paced datagen table read
 * through two views (as the Nexmark views read one source), whose columns are looked up in
 * arrays written here (CREATE FUNCTION). EXPLAIN shows the fused stage, and near-miss shapes (an aggregate call, a
 * condition across the sides) keep the window join. The fused stage keeps each side's groups as
 * window state: a run that fails part-way under exactly-once restores them from a checkpoint and
 * ends with the same rows, none lost or repeated.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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

const EVENTS = 700;
const RATE = 5000;
const BASE = Date.UTC(2024, 0, 1);
const SIZE = 1000;
/**
 * The fault test's pace (events per second), and the event from which the first reading throws
 * once a checkpoint has completed (a busy machine may take most of a second to complete one).
 */
const SLOW_RATE = 500;
const FAIL_AT = 300;
/** The watermark delay; every row's time is at most DELAY - 1 ms behind a row before it. */
const DELAY = 1000;

/** One event: a person (kind 0: k is its id) or an auction (kind 1: k is its seller). */
interface Event {
  kind: number;
  k: number | null;
  name: number;
  cat: number;
  ts: number;
}
interface Person {
  id: number | null;
  name: number;
  ts: number;
}
interface Auction {
  seller: number | null;
  cat: number;
  ts: number;
}

/** Persons 1..8 (1 and 2 never sell), each with name id * 10, sometimes id * 10 + 1; sellers 3..12 (9..12 are no person); one id or seller in 20 NULL. */
function events(): Event[] {
  const rnd = prng(17);
  return Array.from({ length: EVENTS }, (_, i): Event => {
    const ts = BASE + i * 10 + Math.floor(rnd() * (DELAY - 1));
    if (rnd() < 0.45) {
      const id = 1 + Math.floor(rnd() * 8);
      return { kind: 0, k: rnd() < 0.05 ? null : id, name: id * 10 + (rnd() < 0.2 ? 1 : 0), cat: 0, ts };
    }
    return { kind: 1, k: rnd() < 0.05 ? null : 3 + Math.floor(rnd() * 10), name: 0, cat: rnd() < 0.5 ? 1 : 2, ts };
  });
}

/** The events as the two views read them. */
function sides(evs: Event[]): { persons: Person[]; auctions: Auction[] } {
  return {
    persons: evs.filter((e) => e.kind === 0).map((e) => ({ id: e.k, name: e.name, ts: e.ts })),
    auctions: evs.filter((e) => e.kind === 1).map((e) => ({ seller: e.k, cat: e.cat, ts: e.ts })),
  };
}

const windowOf = (ts: number): number => Math.floor(ts / SIZE) * SIZE;

type Row = Record<string, number | null>;

/** The distinct values of `key` over `rows`, each once (the row of its first occurrence). */
function distinct<T>(rows: T[], key: (r: T) => string): T[] {
  const m = new Map<string, T>();
  for (const r of rows) if (!m.has(key(r))) m.set(key(r), r);
  return [...m.values()];
}

/** q8: each distinct (id, name, window) with a distinct (seller = id, window). */
function newUsers(d: { persons: Person[]; auctions: Auction[] }): Row[] {
  const ps = distinct(d.persons, (p) => `${p.id},${p.name},${windowOf(p.ts)}`);
  const sold = new Set(d.auctions.map((a) => `${a.seller},${windowOf(a.ts)}`));
  // SQL's = is never true for NULL: a NULL id meets no seller, not even a NULL one.
  return ps
    .filter((p) => p.id !== null && sold.has(`${p.id},${windowOf(p.ts)}`))
    .map((p) => ({ id: p.id, name: p.name, ws: windowOf(p.ts) }));
}

/** Every pair of a distinct (id, name, window) and a distinct (seller, cat, window) with seller = id. */
function pairs(d: { persons: Person[]; auctions: Auction[] }): Row[] {
  const ps = distinct(d.persons, (p) => `${p.id},${p.name},${windowOf(p.ts)}`);
  const as = distinct(d.auctions, (a) => `${a.seller},${a.cat},${windowOf(a.ts)}`);
  const out: Row[] = [];
  for (const p of ps)
    for (const a of as)
      if (p.id !== null && a.seller === p.id && windowOf(a.ts) === windowOf(p.ts))
        out.push({ id: p.id, name: p.name, cat: a.cat, ws: windowOf(p.ts) });
  return out;
}

const TABLES = (dir: string): string => `
CREATE FUNCTION ev_kind AS '${dir}/kind.mjs';
CREATE FUNCTION ev_k AS '${dir}/k.mjs';
CREATE FUNCTION ev_name AS '${dir}/name.mjs';
CREATE FUNCTION ev_cat AS '${dir}/cat.mjs';
CREATE FUNCTION ev_time AS '${dir}/time.mjs';
CREATE TABLE ev (n BIGINT, kind AS ev_kind(n), k AS ev_k(n), name AS ev_name(n), cat AS ev_cat(n),
  dateTime AS CAST(ev_time(n) AS TIMESTAMP(3)), WATERMARK FOR dateTime AS dateTime - INTERVAL '1' SECOND)
  WITH ('connector' = 'datagen', 'rows-per-second' = '${RATE}', 'number-of-rows' = '${EVENTS}',
  'fields.n.kind' = 'sequence', 'fields.n.start' = '0', 'fields.n.end' = '${EVENTS - 1}');
CREATE VIEW person AS SELECT k AS id, name, dateTime FROM ev WHERE kind = 0;
CREATE VIEW auction AS SELECT k AS seller, cat, dateTime FROM ev WHERE kind = 1;
CREATE TABLE new_users (id BIGINT, name BIGINT, ws TIMESTAMP(3)) WITH ('connector' = 'collect');
CREATE TABLE user_cats (id BIGINT, name BIGINT, cat BIGINT, ws TIMESTAMP(3)) WITH ('connector' = 'collect');
`;

const TUMBLE = (t: string): string => `TABLE(TUMBLE(TABLE ${t}, DESCRIPTOR(dateTime), INTERVAL '1' SECOND))`;

/** Nexmark q8 as written (the window start in the output), over these tables. */
const Q8 = `
SELECT P.id, P.name, P.starttime
FROM (
  SELECT id, name, window_start AS starttime, window_end AS endtime
  FROM ${TUMBLE('person')} GROUP BY id, name, window_start, window_end
) P
JOIN (
  SELECT seller, window_start AS starttime, window_end AS endtime
  FROM ${TUMBLE('auction')} GROUP BY seller, window_start, window_end
) A
ON P.id = A.seller AND P.starttime = A.starttime AND P.endtime = A.endtime`;

/** Both sides' columns: the right side groups by two columns, so a person meets each of its categories. */
const PAIRS = `
SELECT P.id, P.name, A.cat, A.window_start AS ws
FROM (
  SELECT id, name, window_start, window_end FROM ${TUMBLE('person')} GROUP BY id, name, window_start, window_end
) P
JOIN (
  SELECT seller, cat, window_start, window_end FROM ${TUMBLE('auction')} GROUP BY seller, cat, window_start, window_end
) A
ON A.window_start = P.window_start AND A.seller = P.id AND P.window_end = A.window_end`;

describe('SQL window-distinct-join fusion (Nexmark q8 shape)', () => {
  let dir: string;
  let d: { persons: Person[]; auctions: Auction[] };
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'eddy-sql-distinct-join-'));
    const evs = events();
    d = sides(evs);
    writeLookupFunctions(dir, {
      kind: evs.map((e) => e.kind),
      k: evs.map((e) => e.k),
      name: evs.map((e) => e.name),
      cat: evs.map((e) => e.cat),
      time: evs.map((e) => e.ts),
    });
    writeFileSync(join(dir, 'q.sql'), `${TABLES(dir)}INSERT INTO new_users ${Q8};\nINSERT INTO user_cats ${PAIRS};\n`);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('the data have the cases: duplicates on both sides, two names for an id, keys on one side only, several windows', () => {
    const ws = new Set(d.persons.map((p) => windowOf(p.ts)));
    assert.ok(ws.size >= 5, 'several windows');
    assert.ok(
      distinct(d.persons, (p) => `${p.id},${p.name},${windowOf(p.ts)}`).length < d.persons.length / 2,
      'persons repeat in a window',
    );
    assert.ok(distinct(d.auctions, (a) => `${a.seller},${windowOf(a.ts)}`).length < d.auctions.length / 2, 'sellers repeat in a window');
    const twoNames = distinct(d.persons, (p) => `${p.id},${p.name},${windowOf(p.ts)}`).length;
    assert.ok(twoNames > distinct(d.persons, (p) => `${p.id},${windowOf(p.ts)}`).length, 'an id with two names in a window');
    const joined = newUsers(d);
    assert.ok(joined.length > 10 && !joined.some((r) => r.id! <= 2 || r.id! >= 9), 'only keys both sides have join');
    const nullIn = (rows: Array<{ ts: number }>, key: (r: never) => unknown): Set<number> =>
      new Set(rows.filter((r) => key(r as never) === null).map((r) => windowOf(r.ts)));
    const both = [...nullIn(d.persons, (p: Person) => p.id)].filter((w) => nullIn(d.auctions, (a: Auction) => a.seller).has(w));
    assert.ok(both.length > 0, 'a window with a NULL id and a NULL seller (which must not join)');
    assert.ok(pairs(d).length > joined.length, 'a person meets several of its categories');
  });

  it('EXPLAIN: the join of two distincts is one keyed stage; an aggregate call or a condition across the sides keeps the window join', () => {
    const s = new SqlSession(new StreamExecutionEnvironment({}));
    s.execute(TABLES(dir));
    const plan = (sql: string): string => {
      const r = s.execute(`EXPLAIN ${sql}`).find((x) => x.kind === 'explain');
      assert.ok(r?.kind === 'explain');
      return r.plan;
    };
    for (const [target, sql] of [
      ['new_users', Q8],
      ['user_cats', PAIRS],
    ] as const) {
      const p = plan(`INSERT INTO ${target} ${sql}`);
      assert.match(p, new RegExp(`^sql-${target}-distinct-join-1\\s+distinct-join\\s.*TUMBLE window of 1000 ms`, 'm'), p);
      assert.doesNotMatch(p, /^\S+\s+(join|filter|window|count-window)\s/m, p);
      // The source, the two views' calcs, the fused stage, the projection, the sink.
      assert.equal(p.split('\n').length, 6, p);
    }
    const unfused = (p: string): void => {
      assert.match(p, /^\S+\s+join\s+window join/m, p);
      assert.doesNotMatch(p, /distinct-join/, p);
    };
    // The auctions counted: a window aggregate with an aggregate call.
    unfused(plan(`INSERT INTO new_users ${Q8.replace('SELECT seller,', 'SELECT seller, COUNT(*) AS n,')}`));
    // A condition between the sides besides the equalities.
    unfused(plan(`INSERT INTO new_users ${Q8} AND P.name > A.seller * 10`));
    // Joined on the window only: no group column equated.
    unfused(plan(`INSERT INTO new_users ${Q8.replace('P.id = A.seller AND ', '')}`));
  });

  it(
    'across a failure and restart (exactly-once): the restored windows give the reference, no row lost or repeated',
    { timeout: 60_000 },
    async () => {
      const marker = join(dir, 'failed-once');
      const chk = join(dir, 'chk');
      // Throws once (the marker file outlives the restart), at the first event from FAIL_AT on
      // that it reads after a checkpoint's _metadata is written, so the restart has a checkpoint
      // to restore. The events are paced: windows then hold groups of both sides.
      writeFileSync(
        join(dir, 'fail-once.cjs'),
        `const fs = require('node:fs');
const marker = ${JSON.stringify(marker)};
const checkpointed = () => fs.existsSync(${JSON.stringify(chk)}) && fs.readdirSync(${JSON.stringify(chk)}, { recursive: true }).some((f) => String(f).endsWith('_metadata'));
module.exports = (n) => { if (n >= ${FAIL_AT} && !fs.existsSync(marker) && checkpointed()) { fs.writeFileSync(marker, ''); throw new Error('injected failure at event ' + n); } return n; };
module.exports.resultType = 'BIGINT';\n`,
      );
      const tables = TABLES(dir)
        .replace(`'rows-per-second' = '${RATE}'`, `'rows-per-second' = '${SLOW_RATE}'`)
        .replace('FROM ev WHERE kind = 1;', 'FROM ev WHERE kind = 1 AND fail_once(n) >= 0;');
      assert.notEqual(tables, TABLES(dir), 'the failing view is in the script');
      writeFileSync(join(dir, 'fault.sql'), `CREATE FUNCTION fail_once AS './fail-once.cjs';\n${tables}INSERT INTO new_users ${Q8};\n`);
      const res = await runJob(SQL_JOB, {
        parallelism: 2,
        mode: 'exactly-once',
        checkpointIntervalMs: 50,
        checkpointDir: chk,
        restart: 'fixed:3:50',
        args: { 'sql.file': join(dir, 'fault.sql') },
      });
      assert.ok(existsSync(marker), 'the injected failure happened');
      assert.equal(res.restarts, 1, 'one restart');
      const restored = (res.stateRestores ?? []).filter((r) => r.uid.includes('-distinct-join-'));
      assert.ok(
        restored.length > 0,
        `the fused stage's state came back from a checkpoint (restores: ${JSON.stringify(res.stateRestores)})`,
      );
      const rows = res.collected['sql-new_users-sink-1'] as Row[] | undefined;
      assert.ok(rows, `collected (${Object.keys(res.collected).join(', ')})`);
      assert.deepEqual(canonRows(rows), canonRows(newUsers(d)), 'q8 across the restart');
    },
  );

  for (const parallelism of [1, 3]) {
    it(`results at parallelism ${parallelism} equal the reference`, { timeout: 60_000 }, async () => {
      const res = await runJob(SQL_JOB, { parallelism, args: { 'sql.file': join(dir, 'q.sql') } });
      const got = (name: string): string[] => {
        const rows = res.collected[`sql-${name}-sink-1`] as Row[] | undefined;
        assert.ok(rows, `${name}: collected (${Object.keys(res.collected).join(', ')})`);
        return canonRows(rows);
      };
      assert.deepEqual(got('new_users'), canonRows(newUsers(d)), 'q8');
      assert.deepEqual(got('user_cats'), canonRows(pairs(d)), 'every pair');
    });
  }
});
