// test-lane: pair
/**
 * Calc fusion and sub-plan reuse in the SQL planner. The scan's computed columns, a view's WHERE
 * and projection and the query's own become ONE operator whose generated function is run here
 * in-process on records whose columns count their reads (the "counter in a test source"): a
 * computed column used in WHERE and twice in SELECT is evaluated once, a column only the SELECT
 * uses is not evaluated for rows WHERE drops, and NULL conditions drop rows by SQL's
 * three-valued logic (a reference written here). Sub-plan reuse: Nexmark q5's two identical
 * window counts run as one window operator (its MAX and join back fused after it); different aggregates are not merged. (That q5's
 * result equals the DataStream job is nexmark-sql.test.ts.)
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { StreamExecutionEnvironment } from '../../core/index.js';
import { SqlSession } from '../../core/sql/index.js';
import { parseQuery } from '../../core/sql/parser.js';
import { calcFunction, pendingCalc } from '../../core/sql/calc.js';
import type { Rel } from '../../core/sql/relation.js';
import { repoRoot } from '../helpers/paths.js';

type Row = Record<string, unknown>;

/** A source record whose columns x and y count how often they are read. */
function counted(x: number | null, y: number | null): { rec: Row; reads: { x: number; y: number } } {
  const reads = { x: 0, y: 0 };
  const rec = {
    get x() {
      reads.x++;
      return x;
    },
    get y() {
      reads.y++;
      return y;
    },
  };
  return { rec, reads };
}

/** Runs the relation's pending calc (it must be one operator) over `records` (with record timestamps `times`); the rows it emits. */
function runCalc(rel: Rel, records: Row[], times: number[] = []): Row[] {
  const calc = pendingCalc(rel);
  assert.ok(calc, 'the query is one pending calc over the source');
  const f = calcFunction(calc, rel.fields);
  const out: Row[] = [];
  records.forEach((r, i) => {
    const ctx = { timestamp: times[i] ?? Number.NaN } as never;
    if (f.op === 'map') out.push(f.fn(r, ctx) as Row);
    else if (f.op === 'filter') {
      if (f.fn(r, ctx)) out.push(r);
    } else if (f.op === 'flatMap') f.fn(r, { collect: (v) => out.push(v as Row) }, ctx);
    else out.push(r);
  });
  return out;
}

function session(ddl: string): SqlSession {
  const s = new SqlSession(new StreamExecutionEnvironment({}));
  s.execute(ddl);
  return s;
}

// SQL's three-valued logic, written out for the reference.
type B = boolean | null;
const gt = (a: number | null, b: number): B => (a === null ? null : a > b);
const lt = (a: number | null, b: number): B => (a === null ? null : a < b);
const ne = (a: number | null, b: number): B => (a === null ? null : a !== b);
const and = (a: B, b: B): B => (a === false || b === false ? false : a === null || b === null ? null : true);
const or = (a: B, b: B): B => (a === true || b === true ? true : a === null || b === null ? null : false);
const not = (a: B): B => (a === null ? null : !a);

const VALUES = [null, 0, 1, 3, 5, 7];
const TABLE = `CREATE TABLE t (x BIGINT, y BIGINT, c AS x * 10, d AS y + 1) WITH ('connector' = 'datagen', 'number-of-rows' = '10');`;

describe('SQL calc fusion', () => {
  it('a computed column used in WHERE and twice in SELECT is evaluated once per row; one only SELECT uses, only for rows WHERE keeps', () => {
    const s = session(TABLE);
    const rel = s.query(parseQuery('SELECT c, c + 1 AS c1, d FROM t WHERE c > 20'), 'q');
    const inputs = VALUES.flatMap((x) => VALUES.map((y) => ({ x, y, ...counted(x, y) })));
    const got = runCalc(
      rel,
      inputs.map((i) => i.rec),
    );
    const expected = inputs
      .filter((i) => gt(i.x === null ? null : i.x * 10, 20) === true)
      .map((i) => ({ c: i.x! * 10, c1: i.x! * 10 + 1, d: i.y === null ? null : i.y + 1 }));
    assert.deepEqual(got, expected);
    for (const i of inputs) {
      assert.equal(i.reads.x, 1, `x = ${i.x}: c (x * 10) evaluated once for WHERE c > 20 and SELECT c, c + 1`);
      const kept = gt(i.x === null ? null : i.x * 10, 20) === true;
      assert.equal(
        i.reads.y,
        kept ? 1 : 0,
        `x = ${i.x}: d (y + 1) evaluated ${kept ? 'once' : 'never'} for a row WHERE ${kept ? 'keeps' : 'drops'}`,
      );
    }
  });

  it('the WATERMARK FOR column computed at the source is read from the record timestamp, not evaluated again', () => {
    const s = session(
      `CREATE TABLE w (x BIGINT, y TIMESTAMP(3), ts AS CASE WHEN x > 0 THEN y ELSE y END, WATERMARK FOR ts AS ts - INTERVAL '1' SECOND) WITH ('connector' = 'datagen', 'number-of-rows' = '10');`,
    );
    const rel = s.query(parseQuery('SELECT ts, x FROM w WHERE x * 1000 > 2000'), 'q');
    const xs = [1, 2, 3, 5];
    const inputs = xs.map((x) => ({ x, ...counted(x, x * 1000) }));
    // The source's timestamp assigner (ts of the raw record) gave each record x * 1000.
    const got = runCalc(
      rel,
      inputs.map((i) => i.rec),
      xs.map((x) => x * 1000),
    );
    assert.deepEqual(got, [
      { ts: 3000, x: 3 },
      { ts: 5000, x: 5 },
    ]);
    for (const i of inputs) {
      assert.equal(i.reads.y, 0, `x = ${i.x}: ts not recomputed from y`);
      assert.equal(i.reads.x, i.x * 1000 > 2000 ? 2 : 1, `x = ${i.x}: x read by WHERE, and by SELECT for a kept row`);
    }
  });

  it('CASE with and without an operand: a NULL operand or condition matches no WHEN', () => {
    const s = session(TABLE);
    const rel = s.query(
      parseQuery(
        "SELECT CASE x WHEN 1 THEN 'one' WHEN 3 THEN 'three' ELSE 'other' END AS a, CASE WHEN y > 4 THEN 'big' WHEN y < 1 THEN 'small' END AS b FROM t",
      ),
      'q',
    );
    const inputs = VALUES.flatMap((x) => VALUES.map((y) => ({ x, y })));
    const got = runCalc(
      rel,
      inputs.map(({ x, y }) => ({ x, y })),
    );
    const expected = inputs.map(({ x, y }) => ({
      a: x === 1 ? 'one' : x === 3 ? 'three' : 'other',
      b: gt(y, 4) === true ? 'big' : lt(y, 1) === true ? 'small' : null,
    }));
    assert.deepEqual(got, expected);
  });

  it("a view's WHERE and projection and the query's WHERE and projection are one operator, NULL conditions dropping rows as SQL's three-valued logic", () => {
    const s = session(`${TABLE}
      CREATE VIEW v AS SELECT x, y, c, d AS e FROM t WHERE y <> 3 OR x IS NULL;`);
    const sql = 'SELECT c, e, x FROM v WHERE NOT (x > 2 AND y < 5) AND (e > 1 OR c < 40)';
    const rel = s.query(parseQuery(sql), 'q');
    const inputs = VALUES.flatMap((x) => VALUES.map((y) => ({ x, y })));
    const got = runCalc(
      rel,
      inputs.map(({ x, y }) => ({ x, y })),
    );
    const expected = inputs
      .filter(({ x, y }) => {
        const c = x === null ? null : x * 10;
        const e = y === null ? null : y + 1;
        const view = or(ne(y, 3), x === null);
        return and(view, and(not(and(gt(x, 2), lt(y, 5))), or(gt(e, 1), lt(c, 40)))) === true;
      })
      .map(({ x, y }) => ({ c: x === null ? null : x * 10, e: y === null ? null : y + 1, x }));
    assert.ok(expected.length > 0 && expected.length < inputs.length, 'the conditions keep some rows and drop some');
    assert.deepEqual(got, expected);

    // Planned into a job: source, one calc, sink.
    const plan = s
      .execute(
        `CREATE TABLE o (c BIGINT, e BIGINT, x BIGINT) WITH ('connector' = 'blackhole');
      EXPLAIN INSERT INTO o ${sql};`,
      )
      .find((r) => r.kind === 'explain');
    assert.ok(plan?.kind === 'explain');
    const kinds = plan.plan.split('\n').map((l) => l.split(/\s+/)[1]);
    assert.deepEqual(kinds, ['source', 'calc', 'sink'], plan.plan);
    assert.match(
      plan.plan,
      /calc +scan t \+ computed c, d; where \(\(y <> 3\) OR x IS NULL\); project x, y, c, e; where .*; project c, e, x$/m,
    );
  });
});

describe('SQL generated calcs', () => {
  it('a memoized column read by an expression without source text (LIKE) is computed again for each record, even from one reused row object', () => {
    const s = session(TABLE);
    const rel = s.query(parseQuery("SELECT c, CAST(c AS VARCHAR) LIKE '3%' AS l FROM t WHERE c > 0"), 'q');
    const row: Row = { x: 0, y: 0 };
    const got = VALUES.flatMap((x) => {
      row.x = x; // one object, mutated between records (a source may reuse its record)
      return runCalc(rel, [row]);
    });
    const expected = VALUES.filter((x) => gt(x === null ? null : x * 10, 0) === true).map((x) => ({
      c: x! * 10,
      l: String(x! * 10).startsWith('3'),
    }));
    assert.deepEqual(got, expected);
  });

  it('an output column named __proto__ is a property of the row, not its prototype', () => {
    const s = session(TABLE);
    const rel = s.query(parseQuery('SELECT x AS `__proto__`, x + 1 AS y FROM t WHERE x > 1'), 'q');
    const [r] = runCalc(rel, [{ x: 5, y: 0 }]);
    assert.deepEqual(Object.keys(r!), ['__proto__', 'y']);
    assert.equal(Object.getPrototypeOf(r), Object.prototype);
    assert.equal(Object.getOwnPropertyDescriptor(r, '__proto__')?.value, 5);
  });
});

describe('SQL sub-plan reuse', () => {
  const files = (q: string) =>
    ['ddl_gen.sql', 'ddl_views.sql', `${q}.sql`].map((f) =>
      readFileSync(join(repoRoot, 'examples', 'nexmark-sql', f), 'utf8').replace(
        /\$\{([A-Z_]+)\}/g,
        (_w, n: string) =>
          ({
            TPS: '1000',
            EVENTS_NUM: '1000',
            NEXMARK_TABLE: 'datagen',
            SINK: 'blackhole',
            PERSON_PROPORTION: '1',
            AUCTION_PROPORTION: '3',
            BID_PROPORTION: '46',
          })[n] ?? _w,
      ),
    );

  it("Nexmark q5's two identical window counts (AuctionBids, CountBids) are one window operator", () => {
    const s = new SqlSession(new StreamExecutionEnvironment({}));
    const [gen, views, q5] = files('q5');
    s.execute(gen!);
    s.execute(views!);
    const plan = s.execute(q5!.replace(/INSERT INTO/i, 'EXPLAIN INSERT INTO')).find((r) => r.kind === 'explain');
    assert.ok(plan?.kind === 'explain');
    const windows = plan.plan.split('\n').filter((l) => /^\S+\s+(count-)?window\s/.test(l));
    // The MAX over the counts and the join back run inside the join-back operator (sql-join-back.test.ts).
    assert.equal(windows.length, 1, plan.plan);
    assert.match(windows[0]!, /HOP size 10000 ms, slide 2000 ms by \[auction\] aggregate COUNT$/);
    assert.equal(plan.plan.split('\n').filter((l) => /^\S+\s+joinback-list\s/.test(l)).length, 1, plan.plan);
    assert.equal(plan.plan.split('\n').filter((l) => /^\S+\s+calc\s+scan datagen/.test(l)).length, 1, 'the bid view is one operator');
  });

  it('window aggregates that differ in an aggregate, its FILTER or the grouping are not merged', () => {
    const s =
      session(`CREATE TABLE t (k BIGINT, v BIGINT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '1' SECOND) WITH ('connector' = 'datagen', 'number-of-rows' = '10');
      CREATE TABLE o (k BIGINT, n BIGINT) WITH ('connector' = 'blackhole');`);
    const w = `FROM TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '1' SECOND))`;
    const windows = (a: string, b: string): number => {
      const plan = s
        .execute(
          `EXPLAIN INSERT INTO o SELECT x.k, x.n FROM (SELECT k, ${a} AS n, window_start, window_end ${w} GROUP BY k, window_start, window_end) x
        JOIN (SELECT k, ${b} AS n, window_start, window_end ${w} GROUP BY k, window_start, window_end) y
        ON x.k = y.k AND x.window_start = y.window_start AND x.window_end = y.window_end;`,
        )
        .find((r) => r.kind === 'explain');
      assert.ok(plan?.kind === 'explain');
      return plan.plan.split('\n').filter((l) => /^\S+\s+(count-)?window\s/.test(l)).length;
    };
    assert.equal(windows('COUNT(*)', 'COUNT(*)'), 1);
    assert.equal(windows('COUNT(*)', 'SUM(v)'), 2);
    assert.equal(windows('COUNT(*)', 'COUNT(*) FILTER (WHERE v > 3)'), 2);
    assert.equal(windows('SUM(k)', 'SUM(v)'), 2);
  });
});
