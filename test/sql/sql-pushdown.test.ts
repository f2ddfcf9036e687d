// test-lane: pair
/**
 * Filters pushed below joins and a HAVING fused with its select list, run as one SQL job at
 * parallelism 2 over two JSON-lines tables with NULLs in the join keys and the filtered
 * columns. Each result is compared with a reference written here from SQL's semantics
 * (three-valued logic: WHERE, ON and HAVING keep a row only when the condition is TRUE; an
 * outer join pads the rows of its preserved side that match nothing with NULLs), never by
 * calling eddy. The cases are the ones a wrong push-down breaks: a WHERE on the padded side of
 * a LEFT join that NULL passes (`R.b IS NULL OR …`), an ON condition on the preserved side,
 * and a FULL join, where nothing may move. EXPLAIN shows what moved.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StreamExecutionEnvironment } from '../../core/index.js';
import { SqlSession } from '../../core/sql/index.js';
import { prng } from '../helpers/prng.js';
import { assertSqlCases, tablesInTempDir } from '../helpers/sql-cases.js';

type V = number | string | null;
type Row = Record<string, V>;
interface L {
  id: number;
  k: number | null;
  a: number | null;
  s: string;
}
interface R {
  rid: number;
  k: number | null;
  b: number | null;
  t: string;
}

function tables(): { ls: L[]; rs: R[] } {
  const rnd = prng(23);
  const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const ks = [null, 0, 1, 2, 3, 4, 5, 6];
  const ls = Array.from({ length: 40 }, (_, id) => ({ id, k: pick(ks), a: pick([null, 0, 1, 2, 3, 4, 5, 6]), s: pick(['x', 'y']) }));
  const rs = Array.from({ length: 30 }, (_, rid) => ({ rid, k: pick(ks), b: pick([null, 0, 1, 2, 3, 5, 7, 9]), t: pick(['u', 'z']) }));
  return { ls, rs };
}

// SQL's three-valued logic, for the reference.
type B = boolean | null;
const cmp = (x: V, y: V, f: (p: number, q: number) => boolean): B => (x === null || y === null ? null : f(x as number, y as number));
const eq = (x: V, y: V): B => (x === null || y === null ? null : x === y);
const and = (...bs: B[]): B => (bs.includes(false) ? false : bs.includes(null) ? null : true);
const or = (...bs: B[]): B => (bs.includes(true) ? true : bs.includes(null) ? null : false);
const not = (b: B): B => (b === null ? null : !b);

const NULL_L = { id: null, k: null, a: null, s: null };
const NULL_R = { rid: null, k: null, b: null, t: null };

/** A join of ls and rs by its ON condition (which includes the key equality), as its type pads. */
function joined(ls: L[], rs: R[], type: 'inner' | 'left' | 'right' | 'full', on: (l: L, r: R) => B): Array<{ l: Row; r: Row }> {
  const out: Array<{ l: Row; r: Row }> = [];
  const matchedR = new Set<R>();
  for (const l of ls) {
    const ms = rs.filter((r) => on(l, r) === true);
    for (const r of ms) {
      out.push({ l: { ...l }, r: { ...r } });
      matchedR.add(r);
    }
    if (ms.length === 0 && (type === 'left' || type === 'full')) out.push({ l: { ...l }, r: NULL_R });
  }
  if (type === 'right' || type === 'full') for (const r of rs) if (!matchedR.has(r)) out.push({ l: NULL_L, r: { ...r } });
  return out;
}

/** The statements, each with its reference: (name, columns, query, expected rows). */
function cases(ls: L[], rs: R[]): Array<{ name: string; cols: string; sql: string; expected: Row[] }> {
  const key = (l: L, r: R): B => eq(l.k, r.k);
  return [
    {
      // L.a > 2 goes below the join (left is preserved); the OR with R.b IS NULL must stay above:
      // pushed into R it would turn rows matching only R.b >= 5 into padded rows that pass.
      name: 'left_where',
      cols: 'id BIGINT, b INT',
      sql: 'SELECT L.id, R.b FROM L LEFT JOIN R ON L.k = R.k WHERE L.a > 2 AND (R.b IS NULL OR R.b < 5)',
      expected: joined(ls, rs, 'left', key)
        .filter(
          ({ l, r }) =>
            and(
              cmp(l.a, 2, (p, q) => p > q),
              or(
                r.b === null,
                cmp(r.b, 5, (p, q) => p < q),
              ),
            ) === true,
        )
        .map(({ l, r }) => ({ id: l.id, b: r.b })),
    },
    {
      // ON R.b > 1 goes into R (the padded side); ON L.a < 4 must stay: a left row failing it is still padded.
      name: 'left_on',
      cols: 'id BIGINT, rid BIGINT',
      sql: 'SELECT L.id, R.rid FROM L LEFT JOIN R ON L.k = R.k AND R.b > 1 AND L.a < 4',
      expected: joined(ls, rs, 'left', (l, r) =>
        and(
          key(l, r),
          cmp(r.b, 1, (p, q) => p > q),
          cmp(l.a, 4, (p, q) => p < q),
        ),
      ).map(({ l, r }) => ({ id: l.id, rid: r.rid })),
    },
    {
      // Mirrored: ON L.a <> 3 into L (padded), WHERE R.b >= 2 into R (preserved).
      name: 'right_both',
      cols: 'id BIGINT, rid BIGINT',
      sql: 'SELECT L.id, R.rid FROM L RIGHT JOIN R ON L.k = R.k AND L.a <> 3 WHERE R.b >= 2',
      expected: joined(ls, rs, 'right', (l, r) =>
        and(
          key(l, r),
          cmp(l.a, 3, (p, q) => p !== q),
        ),
      )
        .filter(({ r }) => cmp(r.b, 2, (p, q) => p >= q) === true)
        .map(({ l, r }) => ({ id: l.id, rid: r.rid })),
    },
    {
      // FULL: nothing may move.
      name: 'full_none',
      cols: 'id BIGINT, rid BIGINT',
      sql: "SELECT L.id, R.rid FROM L FULL JOIN R ON L.k = R.k AND L.a > 1 WHERE L.s = 'x' OR R.t IS NULL",
      expected: joined(ls, rs, 'full', (l, r) =>
        and(
          key(l, r),
          cmp(l.a, 1, (p, q) => p > q),
        ),
      )
        .filter(({ l, r }) => or(eq(l.s, 'x'), r.t === null) === true)
        .map(({ l, r }) => ({ id: l.id, rid: r.rid })),
    },
    {
      // Inner: each side's conjuncts into that side, the one over both into the join's condition.
      name: 'inner_all',
      cols: 'id BIGINT, rid BIGINT',
      sql: "SELECT L.id, R.rid FROM L JOIN R ON L.k = R.k WHERE L.a >= 1 AND R.t <> 'z' AND L.a + R.b > 4",
      expected: joined(ls, rs, 'inner', key)
        .filter(
          ({ l, r }) =>
            and(
              cmp(l.a, 1, (p, q) => p >= q),
              not(eq(r.t, 'z')),
              cmp(l.a === null || r.b === null ? null : (l.a as number) + (r.b as number), 4, (p, q) => p > q),
            ) === true,
        )
        .map(({ l, r }) => ({ id: l.id, rid: r.rid })),
    },
    ...havingCases(ls),
  ];
}

/** HAVING over a non-windowed GROUP BY k (NULL k is a group): a NULL condition drops the group. */
function havingCases(ls: L[]): Array<{ name: string; cols: string; sql: string; expected: Row[] }> {
  const groups = new Map<number | null, L[]>();
  for (const l of ls) groups.set(l.k, [...(groups.get(l.k) ?? []), l]);
  const agg = [...groups].map(([k, g]) => {
    const as = g.map((l) => l.a).filter((a): a is number => a !== null);
    return { k, n: g.length, sum: as.length ? as.reduce((x, y) => x + y, 0) : null, max: as.length ? Math.max(...as) : null };
  });
  const sql = (having: string) => `SELECT k, COUNT(*) AS n, SUM(a) + 1 AS s1 FROM L GROUP BY k HAVING ${having}`;
  const row = (g: (typeof agg)[number]): Row => ({ k: g.k, n: g.n, s1: g.sum === null ? null : g.sum + 1 });
  return [
    {
      name: 'having_or_null',
      cols: 'k BIGINT, n BIGINT, s1 INT',
      sql: sql('SUM(a) < 12 OR MAX(a) IS NULL'),
      expected: agg
        .filter(
          (g) =>
            or(
              cmp(g.sum, 12, (p, q) => p < q),
              g.max === null,
            ) === true,
        )
        .map(row),
    },
    {
      name: 'having_not',
      cols: 'k BIGINT, n BIGINT, s1 INT',
      sql: sql('NOT (SUM(a) >= 12) AND COUNT(*) > 1'),
      expected: agg.filter((g) => and(not(cmp(g.sum, 12, (p, q) => p >= q)), g.n > 1) === true).map(row),
    },
  ];
}

const DDL = (dir: string): string => `
CREATE TABLE L (id BIGINT, k BIGINT, a INT, s VARCHAR) WITH ('connector' = 'filesystem', 'path' = '${dir}/l.jsonl', 'format' = 'json');
CREATE TABLE R (rid BIGINT, k BIGINT, b INT, t VARCHAR) WITH ('connector' = 'filesystem', 'path' = '${dir}/r.jsonl', 'format' = 'json');
`;

describe('SQL filters below joins, HAVING fused with its projection', () => {
  const fx = tablesInTempDir('eddy-sql-pushdown-', tables, (d) => ({ 'l.jsonl': d.ls, 'r.jsonl': d.rs }));

  it('EXPLAIN: one-sided conjuncts sit in the side a join type allows, the rest in an inner join or after an outer one; HAVING and its select list are one calc', () => {
    const s = new SqlSession(new StreamExecutionEnvironment({}));
    s.execute(DDL(fx.dir));
    const byCase = new Map(cases(fx.data.ls, fx.data.rs).map((c) => [c.name, c]));
    const plan = (name: string): string => {
      const c = byCase.get(name)!;
      const r = s
        .execute(`CREATE TABLE ${name} (${c.cols}) WITH ('connector' = 'blackhole'); EXPLAIN INSERT INTO ${name} ${c.sql};`)
        .find((x) => x.kind === 'explain');
      assert.ok(r?.kind === 'explain');
      return r.plan;
    };
    // Lines before the join are the sides' calcs, lines after it the join's consumers.
    const split = (p: string): { sides: string; after: string } => {
      const lines = p.split('\n');
      const j = lines.findIndex((l) => /\sjoin\s/.test(l));
      assert.ok(j > 0, p);
      return { sides: lines.slice(0, j).join('\n'), after: lines.slice(j + 1).join('\n') };
    };
    // A filter-only calc is EXPLAINed as `filter COND`, one with more as `calc …; where (COND); …`.
    const sits = (text: string, cond: string): boolean =>
      text.split('\n').some((l) => (/\sfilter\s/.test(l) ? l.endsWith(` (${cond})`) : l.includes(`where (${cond})`)));
    const lw = split(plan('left_where'));
    assert.ok(sits(lw.sides, 'L.a > 2'), lw.sides);
    assert.ok(sits(lw.after, 'R.b IS NULL OR (R.b < 5)'), lw.after);
    assert.doesNotMatch(lw.sides, /R\.b/);
    const lo = split(plan('left_on'));
    assert.ok(sits(lo.sides, 'R.b > 1'), lo.sides);
    assert.doesNotMatch(lo.sides, /L\.a < 4/);
    const rb = split(plan('right_both'));
    assert.ok(sits(rb.sides, 'L.a <> 3'), rb.sides);
    assert.ok(sits(rb.sides, 'R.b >= 2'), rb.sides);
    const fn = split(plan('full_none'));
    assert.doesNotMatch(fn.sides, /where|filter/);
    const iaPlan = plan('inner_all');
    const ia = split(iaPlan);
    assert.ok(sits(ia.sides, 'L.a >= 1'), ia.sides);
    assert.ok(sits(ia.sides, "R.t <> 'z'"), ia.sides);
    // WHERE over both sides of an inner join is the join's condition (Flink's FilterJoinRule).
    assert.match(iaPlan, /\sjoin\s+inner join on \(L\.k = R\.k\) where \(\(L\.a \+ R\.b\) > 4\)/);
    assert.doesNotMatch(ia.after, /where|filter/, ia.after);
    const hv = plan('having_or_null').split('\n');
    const g = hv.findIndex((l) => /\sgroup\s/.test(l));
    assert.match(hv[g + 1]!, /\scalc\s+where \(\(SUM\(a\) < 12\) OR MAX\(a\) IS NULL\); project k, n, s1$/, hv.join('\n'));
    assert.ok(!hv.some((l) => /\sfilter\s/.test(l)), 'no filter operator of its own');
  });

  it('results at parallelism 2 equal the references (outer-join padding and NULL conditions included)', { timeout: 60_000 }, async () => {
    await assertSqlCases(fx.dir, DDL(fx.dir), cases(fx.data.ls, fx.data.rs), 2);
  });
});
