// test-lane: pair
/**
 * Every conjunct of a join's ON (and of a comma join's WHERE) is either used by the join or
 * checked on its rows: one query per join branch (window join of TUMBLE TVFs, interval join,
 * regular join, comma join planned as an interval join) with conditions the branch does not
 * key by, among them time bounds between the sides, which the window join once dropped. Each
 * result is compared with a nested-loop reference written here from SQL's meaning, and the
 * reference is shown to change when any one conjunct is left out, so a dropped conjunct fails.
 * EXPLAIN shows each query takes the branch it is meant to.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StreamExecutionEnvironment } from '../../core/index.js';
import { SqlSession } from '../../core/sql/index.js';
import { prng } from '../helpers/prng.js';
import { assertSqlCases, tablesInTempDir, type SqlCase } from '../helpers/sql-cases.js';

interface L {
  id: number;
  k: number;
  ts: number;
}
interface R {
  rid: number;
  k: number;
  ts: number;
}
type Cond = (l: L, r: R) => boolean;

const BASE = Date.UTC(2024, 0, 1);
const WINDOW = 2000;

/** Rows ~60 ms apart over 12 s, four keys, disorder under 400 ms (the watermark allows 1 s, so no row is late). */
function tables(): { ls: L[]; rs: R[] } {
  const rnd = prng(41);
  const ls = Array.from({ length: 200 }, (_, id) => ({ id, k: Math.floor(rnd() * 4), ts: BASE + id * 60 + Math.floor(rnd() * 400) }));
  const rs = Array.from({ length: 160 }, (_, rid) => ({ rid, k: Math.floor(rnd() * 4), ts: BASE + rid * 75 + Math.floor(rnd() * 400) }));
  return { ls, rs };
}

const DDL = (dir: string): string => `
CREATE TABLE L (id BIGINT, k BIGINT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
  WITH ('connector' = 'filesystem', 'path' = '${dir}/l.jsonl', 'format' = 'json');
CREATE TABLE R (rid BIGINT, k BIGINT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
  WITH ('connector' = 'filesystem', 'path' = '${dir}/r.jsonl', 'format' = 'json');
`;

interface JoinCase {
  name: string;
  /** The FROM … of the query (SELECT L.id, R.rid is put before it). */
  from: string;
  /** What EXPLAIN must show for the join. */
  plan: RegExp;
  /** The conjuncts, by name, as the reference checks them. */
  conds: Record<string, Cond>;
}

const win = (ts: number): number => Math.floor(ts / WINDOW);

const JOINS: JoinCase[] = [
  {
    name: 'window_bound',
    from: `TABLE(TUMBLE(TABLE L, DESCRIPTOR(ts), INTERVAL '2' SECOND)) L
JOIN TABLE(TUMBLE(TABLE R, DESCRIPTOR(ts), INTERVAL '2' SECOND)) R
ON L.k = R.k AND L.window_start = R.window_start AND L.window_end = R.window_end
  AND L.ts BETWEEN R.ts - INTERVAL '300' MILLISECOND AND R.ts AND MOD(L.id + R.rid, 4) <> 1`,
    plan: /window join/,
    conds: {
      key: (l, r) => l.k === r.k,
      window: (l, r) => win(l.ts) === win(r.ts),
      lower: (l, r) => l.ts >= r.ts - 300,
      upper: (l, r) => l.ts <= r.ts,
      other: (l, r) => (l.id + r.rid) % 4 !== 1,
    },
  },
  {
    name: 'interval_rest',
    from: `L JOIN R ON L.k = R.k AND L.ts BETWEEN R.ts - INTERVAL '500' MILLISECOND AND R.ts + INTERVAL '200' MILLISECOND AND MOD(L.id + R.rid, 3) <> 0`,
    plan: /interval join/,
    conds: {
      key: (l, r) => l.k === r.k,
      lower: (l, r) => l.ts >= r.ts - 500,
      upper: (l, r) => l.ts <= r.ts + 200,
      other: (l, r) => (l.id + r.rid) % 3 !== 0,
    },
  },
  {
    // One bound only: no interval join, the bound is the regular join's condition.
    name: 'regular_bound',
    from: `L JOIN R ON L.k = R.k AND L.ts >= R.ts + INTERVAL '4' SECOND AND L.id < R.rid + 100`,
    plan: /inner join on .* \(append-only\)/,
    conds: {
      key: (l, r) => l.k === r.k,
      lower: (l, r) => l.ts >= r.ts + 4000,
      other: (l, r) => l.id < r.rid + 100,
    },
  },
  {
    name: 'comma_interval',
    from: `L, R WHERE L.k = R.k AND R.ts > L.ts AND R.ts < L.ts + INTERVAL '1' SECOND AND L.id > R.rid`,
    plan: /interval join/,
    conds: {
      key: (l, r) => l.k === r.k,
      lower: (l, r) => r.ts > l.ts,
      upper: (l, r) => r.ts < l.ts + 1000,
      other: (l, r) => l.id > r.rid,
    },
  },
];

function reference(ls: L[], rs: R[], conds: Cond[]): Array<{ id: number; rid: number }> {
  const out: Array<{ id: number; rid: number }> = [];
  for (const l of ls) for (const r of rs) if (conds.every((c) => c(l, r))) out.push({ id: l.id, rid: r.rid });
  return out;
}

const key = (rows: Array<{ id: number; rid: number }>): string =>
  rows
    .map((x) => `${x.id}/${x.rid}`)
    .sort()
    .join(',');

function cases(ls: L[], rs: R[]): SqlCase[] {
  return JOINS.map((j) => ({
    name: j.name,
    cols: 'id BIGINT, rid BIGINT',
    sql: `SELECT L.id, R.rid FROM ${j.from}`,
    expected: reference(ls, rs, Object.values(j.conds)),
  }));
}

describe('SQL join conditions: every conjunct applied in every join branch', () => {
  const fx = tablesInTempDir('eddy-sql-join-cond-', tables, (d) => ({ 'l.jsonl': d.ls, 'r.jsonl': d.rs }));

  it('the reference changes when any one conjunct is left out (so a dropped one fails the run below)', () => {
    const { ls, rs } = fx.data;
    for (const j of JOINS) {
      const all = Object.values(j.conds);
      const full = key(reference(ls, rs, all));
      assert.ok(full.length > 0, `${j.name}: rows joined`);
      for (const [name, c] of Object.entries(j.conds)) {
        assert.notEqual(
          key(
            reference(
              ls,
              rs,
              all.filter((x) => x !== c),
            ),
          ),
          full,
          `${j.name}: without '${name}' the result differs`,
        );
      }
    }
  });

  it('EXPLAIN: each query is planned as the join branch it exercises', () => {
    const s = new SqlSession(new StreamExecutionEnvironment({}));
    s.execute(DDL(fx.dir));
    for (const j of JOINS) {
      const r = s
        .execute(
          `CREATE TABLE ${j.name} (id BIGINT, rid BIGINT) WITH ('connector' = 'blackhole'); EXPLAIN INSERT INTO ${j.name} SELECT L.id, R.rid FROM ${j.from};`,
        )
        .find((x) => x.kind === 'explain');
      assert.ok(r?.kind === 'explain');
      assert.match(r.plan, j.plan, `${j.name}:\n${r.plan}`);
    }
  });

  it('each result equals the reference (parallelism 2)', async () => {
    await assertSqlCases(fx.dir, DDL(fx.dir), cases(fx.data.ls, fx.data.rs), 2);
  });
});
