// test-lane: pair
/**
 * Columns pruned below joins (join-prune.ts): each side of a join keeps only the columns its
 * conditions and the query over it read. EXPLAIN shows what each side keeps; one SQL job at
 * parallelism 2 over two JSON-lines tables checks that nothing read was pruned, against
 * references written here from SQL's semantics. The cases are where a wrong pruning breaks a
 * result: a column read only in a WHERE over both sides, only in GROUP BY / HAVING / an
 * aggregate's argument, only in a Top-N's PARTITION BY and ORDER BY, by a qualified `R.*`, and
 * an unqualified name of one side.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StreamExecutionEnvironment } from '../../core/index.js';
import { SqlSession } from '../../core/sql/index.js';
import { prng } from '../helpers/prng.js';
import { assertSqlCases, tablesInTempDir } from '../helpers/sql-cases.js';

type Row = Record<string, number | string | null>;
interface L {
  id: number;
  k: number;
  a: number;
  s: string;
  pad: string;
}
interface R {
  rid: number;
  k: number;
  b: number;
  t: string;
  pad2: string;
}

function tables(): { ls: L[]; rs: R[] } {
  const rnd = prng(41);
  const int = (n: number): number => Math.floor(rnd() * n);
  const ls = Array.from({ length: 40 }, (_, id) => ({ id, k: int(6), a: int(5), s: ['x', 'y', 'z'][int(3)]!, pad: `l${id}`.repeat(5) }));
  const rs = Array.from({ length: 30 }, (_, rid) => ({ rid, k: int(6), b: int(9), t: ['u', 'v'][int(2)]!, pad2: `r${rid}`.repeat(5) }));
  return { ls, rs };
}

/** Every (l, r) with equal k: the inner join's pairs. */
const pairs = (ls: L[], rs: R[]): Array<[L, R]> => ls.flatMap((l) => rs.filter((r) => r.k === l.k).map((r): [L, R] => [l, r]));

/** The statements, each with its reference, and the columns EXPLAIN must show each side keeping (undefined: all). */
function cases(ls: L[], rs: R[]): Array<{ name: string; cols: string; sql: string; expected: Row[]; keepL?: string; keepR?: string }> {
  const groups = new Map<string, Array<[L, R]>>();
  for (const p of pairs(ls, rs)) groups.set(p[0].s, [...(groups.get(p[0].s) ?? []), p]);
  const top2 = [...groups.values()].flatMap((g) =>
    [...g]
      .sort(([l1, r1], [l2, r2]) => r2.b - r1.b || r1.rid - r2.rid || l1.id - l2.id)
      .slice(0, 2)
      .map(([l, r]) => ({ id: l.id, rid: r.rid })),
  );
  return [
    {
      // L.a and R.b are read only by the WHERE over both sides.
      name: 'where_above',
      cols: 'id BIGINT, t VARCHAR',
      sql: 'SELECT L.id, R.t FROM L JOIN R ON L.k = R.k WHERE L.a + R.b > 6',
      expected: pairs(ls, rs)
        .filter(([l, r]) => l.a + r.b > 6)
        .map(([l, r]) => ({ id: l.id, t: r.t })),
      keepL: 'id, k, a',
      keepR: 'k, b, t',
    },
    {
      // L.s only in GROUP BY, L.a only in HAVING, R.b only in SUM.
      name: 'grouped',
      cols: 's VARCHAR, total BIGINT',
      sql: 'SELECT L.s, SUM(R.b) AS total FROM L JOIN R ON L.k = R.k GROUP BY L.s HAVING MAX(L.a) >= 3',
      expected: [...groups]
        .filter(([, g]) => Math.max(...g.map(([l]) => l.a)) >= 3)
        .map(([s, g]) => ({ s, total: g.reduce((x, [, r]) => x + r.b, 0) })),
      keepL: 'k, a, s',
      keepR: 'k, b',
    },
    {
      // R.* keeps all of R; unqualified `id` is L's.
      name: 'star',
      cols: 'rid BIGINT, k BIGINT, b INT, t VARCHAR, pad2 VARCHAR, id BIGINT',
      sql: 'SELECT R.*, id FROM L JOIN R ON L.k = R.k',
      expected: pairs(ls, rs).map(([l, r]) => ({ ...r, id: l.id })),
      keepL: 'id, k',
    },
    {
      // L.s only in PARTITION BY, R.b only in ORDER BY.
      name: 'top_n',
      cols: 'id BIGINT, rid BIGINT',
      sql: 'SELECT id, rid FROM (SELECT L.id, R.rid, ROW_NUMBER() OVER (PARTITION BY L.s ORDER BY R.b DESC, R.rid, L.id) AS rn FROM L JOIN R ON L.k = R.k) WHERE rn <= 2',
      expected: top2,
      keepL: 'id, k, s',
      keepR: 'rid, k, b',
    },
  ];
}

const DDL = (dir: string): string => `
CREATE TABLE L (id BIGINT, k BIGINT, a INT, s VARCHAR, pad VARCHAR) WITH ('connector' = 'filesystem', 'path' = '${dir}/l.jsonl', 'format' = 'json');
CREATE TABLE R (rid BIGINT, k BIGINT, b INT, t VARCHAR, pad2 VARCHAR) WITH ('connector' = 'filesystem', 'path' = '${dir}/r.jsonl', 'format' = 'json');
`;

describe('SQL columns pruned below joins', () => {
  const fx = tablesInTempDir('eddy-sql-prune-', tables, (d) => ({ 'l.jsonl': d.ls, 'r.jsonl': d.rs }));

  it('EXPLAIN: each side keeps the columns the join and the query over it read', () => {
    const s = new SqlSession(new StreamExecutionEnvironment({}));
    s.execute(DDL(fx.dir));
    for (const c of cases(fx.data.ls, fx.data.rs)) {
      const r = s
        .execute(`CREATE TABLE ${c.name} (${c.cols}) WITH ('connector' = 'blackhole'); EXPLAIN INSERT INTO ${c.name} ${c.sql};`)
        .find((x) => x.kind === 'explain');
      assert.ok(r?.kind === 'explain');
      const lines = r.plan.split('\n');
      const j = lines.findIndex((l) => /\sjoin\s/.test(l));
      const kept = lines.slice(0, j).flatMap((l) => /keep ([^;]*)/.exec(l)?.[1] ?? []);
      assert.deepEqual(
        kept,
        [c.keepL, c.keepR].filter((k) => k !== undefined),
        `${c.name}:\n${r.plan}`,
      );
    }
  });

  it('a column that neither side has gets the message listing every column of its table', () => {
    const s = new SqlSession(new StreamExecutionEnvironment({}));
    s.execute(DDL(fx.dir));
    assert.throws(
      () =>
        s.execute(
          `CREATE TABLE bad (id BIGINT) WITH ('connector' = 'blackhole'); INSERT INTO bad SELECT L.nope FROM L JOIN R ON L.k = R.k;`,
        ),
      (e: Error) =>
        /column 'nope' not found in 'L' \(it has L\.id, L\.k, L\.a, L\.s, L\.pad\)/.test(e.message) && e.message.split('\n').length === 1,
    );
  });

  it('results at parallelism 2 equal the references', { timeout: 60_000 }, async () => {
    await assertSqlCases(fx.dir, DDL(fx.dir), cases(fx.data.ls, fx.data.rs), 2);
  });
});
