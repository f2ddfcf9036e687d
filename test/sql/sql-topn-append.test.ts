// The append-only Top-N's fast paths, through SQL at parallelism 2 with mini-batch off and set:
// rows go in without a change wrapper, the ORDER BY is a generated comparator (ASC and DESC,
// NULLs, strings), the rank row is generated, the Top-1 keeps one row, and a mini-batch setting
// does not reach the rank (Flink runs ranks per record). Partition keys are chosen to collide when joined as strings
// ('1' + '23' = '12' + '3', '1,2' + ',' + '3' = '1' + ',' + '2,3', NULL and 'null') and across
// a number and a string column. Each case's final table must be the top N of a sort of all
// its partition's rows written here from SQL's ROW_NUMBER semantics.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertSqlCases, tablesInTempDir } from '../helpers/sql-cases.js';
import { prng } from '../helpers/prng.js';

type Row = Record<string, unknown>;

const ROWS = 700;
const STRINGS = ['1', '12', '1,2', '23', '3', '2,3', null, 'null', ''];
const NUMBERS = [1, 12, 123, 0, null];

function rows(): Row[] {
  const r = prng(0x70b);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  return Array.from({ length: ROWS }, (_, id) => ({
    id,
    p1: pick(STRINGS),
    p2: pick(STRINGS),
    p3: pick(NUMBERS),
    a: r() < 0.15 ? null : Math.floor(r() * 40) - 20,
    b: r() < 0.15 ? null : pick(['x', 'y', 'Y', 'xy', 'a,b', '', 'null']),
  }));
}

/** One ORDER BY item: SQL sorts NULLs first ascending and last descending (Flink's default). */
type Order = { col: string; desc?: boolean };

function compareBy(order: readonly Order[]): (x: Row, y: Row) => number {
  return (x, y) => {
    for (const { col, desc } of order) {
      const u = x[col] as number | string | null;
      const v = y[col] as number | string | null;
      if (u === v) continue;
      if (u === null) return desc ? 1 : -1;
      if (v === null) return desc ? -1 : 1;
      const c = u < v ? -1 : 1;
      return desc ? -c : c;
    }
    return 0;
  };
}

/** The top `n` rows of each partition (by the values of `partition`, NULL equal to NULL) by a sort of all its rows, with `rn` when asked. */
function topN(
  all: readonly Row[],
  partition: readonly string[],
  order: readonly Order[],
  n: number,
  cols: readonly string[],
  rn: boolean,
): Row[] {
  const parts = new Map<string, Row[]>();
  for (const row of all) {
    const k = JSON.stringify(partition.map((c) => row[c]));
    parts.set(k, [...(parts.get(k) ?? []), row]);
  }
  const out: Row[] = [];
  for (const rs of parts.values()) {
    rs.sort(compareBy(order));
    rs.slice(0, n).forEach((row, i) => out.push({ ...Object.fromEntries(cols.map((c) => [c, row[c]])), ...(rn ? { rn: i + 1 } : {}) }));
  }
  return out;
}

const COLS = 'id BIGINT, p1 VARCHAR, p2 VARCHAR, p3 BIGINT, a BIGINT, b VARCHAR';
const ALL = ['id', 'p1', 'p2', 'p3', 'a', 'b'];

function cases(all: Row[]) {
  return [
    {
      name: 'top3_strings',
      cols: `${COLS}, rn BIGINT`,
      sql: 'SELECT * FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY p1, p2 ORDER BY a DESC, id) AS rn FROM T) WHERE rn <= 3',
      expected: topN(all, ['p1', 'p2'], [{ col: 'a', desc: true }, { col: 'id' }], 3, ALL, true),
    },
    {
      name: 'top2_number_string',
      cols: 'id BIGINT, p3 BIGINT, p1 VARCHAR, b VARCHAR, rn BIGINT',
      sql: 'SELECT id, p3, p1, b, rn FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY p3, p1 ORDER BY b, a DESC, id DESC) AS rn FROM T) WHERE rn <= 2',
      expected: topN(
        all,
        ['p3', 'p1'],
        [{ col: 'b' }, { col: 'a', desc: true }, { col: 'id', desc: true }],
        2,
        ['id', 'p3', 'p1', 'b'],
        true,
      ),
    },
    {
      name: 'top1_no_rank',
      cols: 'id BIGINT, p2 VARCHAR, p3 BIGINT, a BIGINT',
      sql: 'SELECT id, p2, p3, a FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY p2, p3 ORDER BY a, id DESC) AS rn FROM T) WHERE rn <= 1',
      expected: topN(all, ['p2', 'p3'], [{ col: 'a' }, { col: 'id', desc: true }], 1, ['id', 'p2', 'p3', 'a'], false),
    },
  ];
}

describe('SQL append-only Top-N', () => {
  const fx = tablesInTempDir('eddy-sql-topn-', rows, (all) => ({ 't.jsonl': all }));
  const ddl = (dir: string, miniBatch: boolean): string =>
    (miniBatch
      ? "SET 'table.exec.mini-batch.enabled' = 'true'; SET 'table.exec.mini-batch.allow-latency' = '10 s'; SET 'table.exec.mini-batch.size' = '37';\n"
      : '') + `CREATE TABLE T (${COLS}) WITH ('connector' = 'filesystem', 'path' = '${dir}/t.jsonl', 'format' = 'json');\n`;

  it('the references see the collisions: partitions equal as joined strings are distinct, and NULLs sort at both ends', () => {
    const keys = new Set(fx.data.map((r) => JSON.stringify([r.p1, r.p2])));
    const joined = new Set(fx.data.map((r) => `${r.p1}${r.p2}`));
    assert.ok(joined.size < keys.size, 'some (p1, p2) pairs collide as joined strings');
    const mixed = new Set(fx.data.map((r) => `${r.p3},${r.p1}`));
    assert.ok(
      new Set(fx.data.map((r) => JSON.stringify([r.p3, r.p1]))).size > new Set([...mixed].map((s) => s.replace(/,/g, ''))).size,
      'some (p3, p1) pairs collide as joined strings',
    );
    assert.ok(
      cases(fx.data)[0]!.expected.some((r) => r.a === null) && cases(fx.data)[1]!.expected.some((r) => r.b === null),
      'NULL sort values reach the top',
    );
  });

  it('mini-batch off: each query equals the top N of a sort of all rows', async () => {
    await assertSqlCases(fx.dir, ddl(fx.dir, false), cases(fx.data), 2);
  });

  it('mini-batch set (bundles of 37 rows for aggregates; the rank stays per record): the same tables', async () => {
    await assertSqlCases(fx.dir, ddl(fx.dir, true), cases(fx.data), 2);
  });
});
