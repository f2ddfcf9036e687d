// test-lane: pair
/**
 * Common subexpressions in a calc (codegen.ts `shared`): an expression written more than once
 * in one generated function is computed once per record. The rows must be those of evaluating
 * every occurrence on its own, which the references here do, from SQL's semantics (NULL in,
 * NULL out; WHERE keeps TRUE only; a searched CASE takes the first TRUE branch). Two user
 * functions that count their calls show what is shared: a deterministic one (the default, as
 * Flink's isDeterministic()) written twice in a row returns the same call number to both
 * occurrences, one declared `deterministic = false` is called for each occurrence, and a view's
 * column read twice is one value even when a non-deterministic function computes it. An integer
 * column compared with an integer literal (Nexmark's `event_type = 0`) keeps SQL's NULL.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { assertSqlCases, tablesInTempDir } from '../helpers/sql-cases.js';

type Row = Record<string, unknown>;
interface Bid {
  id: number;
  price: number | null;
  ts: number | null;
  word: string | null;
}

const HOUR_MS = 3_600_000;

function bids(): Bid[] {
  // Prices around q14-like bounds (0.908 * price in (10, 1000)), hours across the day, NULLs in each column.
  return Array.from({ length: 48 }, (_, id) => ({
    id,
    price: id % 11 === 3 ? null : [5, 11, 12, 500, 1101, 1102, 2000, 13][id % 8]! + id,
    ts: id % 13 === 5 ? null : Date.UTC(2026, 11, 1) + (id % 24) * HOUR_MS + id * 1000,
    word: id % 7 === 2 ? null : ['cocoa', 'kiwi', 'cc', 'acacia'][id % 4]!,
  }));
}

// The reference, each occurrence evaluated on its own.
const times908 = (p: number | null): number | null => (p === null ? null : (p * 908) / 1000);
const hour = (ts: number | null): number | null => (ts === null ? null : Math.floor(ts / HOUR_MS) % 24);
const ge = (x: number | null, y: number): boolean | null => (x === null ? null : x >= y);
const le = (x: number | null, y: number): boolean | null => (x === null ? null : x <= y);
const and = (a: boolean | null, b: boolean | null): boolean | null =>
  a === false || b === false ? false : a === null || b === null ? null : true;
const or = (a: boolean | null, b: boolean | null): boolean | null =>
  a === true || b === true ? true : a === null || b === null ? null : false;
function timeType(ts: number | null): string {
  if (and(ge(hour(ts), 8), le(hour(ts), 18)) === true) return 'dayTime';
  if (or(le(hour(ts), 6), ge(hour(ts), 20)) === true) return 'nightTime';
  return 'otherTime';
}
const cCount = (w: string | null): number | null => (w === null ? null : [...w].filter((ch) => ch === 'c').length);

describe('SQL common subexpressions', () => {
  const fx = tablesInTempDir('eddy-cse-', bids, (rows) => ({ 'bids.jsonl': rows }));

  it('shared subexpressions give the rows of evaluating each occurrence, and non-deterministic calls are not shared', async () => {
    // Each returns how often it was called in this worker; each is called by one statement only.
    writeFileSync(
      join(fx.dir, 'tally.mjs'),
      "let n = 0;\nexport default function tally(s) { return ++n; }\ntally.resultType = 'BIGINT';\n",
    );
    const volatile = (name: string): string =>
      `let n = 0;\nexport default function ${name}(s) { return ++n; }\n${name}.resultType = 'BIGINT';\n${name}.deterministic = false;\n`;
    writeFileSync(join(fx.dir, 'draw.mjs'), volatile('draw'));
    writeFileSync(join(fx.dir, 'pick.mjs'), volatile('pick'));
    const rows = fx.data;
    const ddl = `
CREATE FUNCTION tally AS './tally.mjs';
CREATE FUNCTION draw AS './draw.mjs';
CREATE FUNCTION pick AS './pick.mjs';
CREATE TABLE bids (id BIGINT, price BIGINT, ts TIMESTAMP(3), word VARCHAR) WITH ('connector' = 'filesystem', 'path' = '${fx.dir}/bids.jsonl', 'format' = 'json');
CREATE VIEW picked AS SELECT id, pick(word) AS d FROM bids WHERE id < 12;
`;
    // q14's shape: 0.908 * price in WHERE twice and in SELECT, HOUR(ts) four times in a CASE.
    const inRange = rows.filter((r) => {
      const p = times908(r.price);
      return p !== null && p > 10 && p < 1000;
    });
    const q14 = inRange.map((r) => ({
      id: r.id,
      price: times908(r.price),
      t: timeType(r.ts),
      twice: r.price === null ? null : r.price * 2 + r.price * 2,
    }));
    // NULLs through shared arithmetic and a shared CASE, with no WHERE to drop them; one
    // function at two arities (SUBSTRING) is two different operations.
    const nulls = rows.map((r) => {
      const h = hour(r.ts);
      const bucket = h === null ? null : h >= 12 ? 'pm' : 'am';
      return {
        id: r.id,
        a: r.price === null ? null : r.price + 1,
        b: r.price === null || h === null ? null : (r.price + 1) * h,
        c: bucket,
        d: bucket === null ? null : `${bucket}!`,
        n: cCount(r.word),
        m: cCount(r.word),
        s2: r.word?.slice(1) ?? null,
        s3: r.word?.slice(1, 2) ?? null,
      };
    });
    // Rows reach the calc in file order at parallelism 1: the k-th row's call numbers follow.
    const calls = rows.filter((r) => r.id >= 12).map((r, k) => ({ id: r.id, t1: k + 1, t2: k + 1, d1: 2 * k + 1, d2: 2 * k + 2 }));
    const viewed = rows.filter((r) => r.id < 12).map((r, k) => ({ id: r.id, x: k + 1, y: k + 1 }));
    await assertSqlCases(
      fx.dir,
      ddl,
      [
        {
          name: 'q14',
          cols: 'id BIGINT, price DECIMAL(23, 3), t VARCHAR, twice BIGINT',
          sql: `SELECT id, 0.908 * price AS price,
  CASE WHEN HOUR(ts) >= 8 AND HOUR(ts) <= 18 THEN 'dayTime' WHEN HOUR(ts) <= 6 OR HOUR(ts) >= 20 THEN 'nightTime' ELSE 'otherTime' END AS t,
  price * 2 + price * 2 AS twice
FROM bids WHERE 0.908 * price > 10 AND 0.908 * price < 1000`,
          expected: q14 as Row[],
        },
        {
          name: 'nulls',
          cols: 'id BIGINT, a BIGINT, b BIGINT, c VARCHAR, d VARCHAR, n BIGINT, m BIGINT, s2 VARCHAR, s3 VARCHAR',
          sql: `SELECT id, price + 1 AS a, (price + 1) * HOUR(ts) AS b,
  CASE WHEN HOUR(ts) >= 12 THEN 'pm' WHEN HOUR(ts) < 12 THEN 'am' END AS c,
  CASE WHEN HOUR(ts) >= 12 THEN 'pm' WHEN HOUR(ts) < 12 THEN 'am' END || '!' AS d,
  CHAR_LENGTH(word) - CHAR_LENGTH(REGEXP_REPLACE(word, 'c', '')) AS n,
  CHAR_LENGTH(word) - CHAR_LENGTH(REGEXP_REPLACE(word, 'c', '')) AS m,
  SUBSTRING(word, 2) AS s2, SUBSTRING(word, 2, 1) AS s3
FROM bids`,
          expected: nulls as Row[],
        },
        {
          name: 'calls',
          cols: 'id BIGINT, t1 BIGINT, t2 BIGINT, d1 BIGINT, d2 BIGINT',
          sql: 'SELECT id, tally(word) AS t1, tally(word) AS t2, draw(word) AS d1, draw(word) AS d2 FROM bids WHERE id >= 12',
          expected: calls as Row[],
        },
        { name: 'viewed', cols: 'id BIGINT, x BIGINT, y BIGINT', sql: 'SELECT id, d AS x, d AS y FROM picked', expected: viewed as Row[] },
        {
          // An integer column = an integer literal is a strict equality (expressions.ts): NULL
          // stays NULL in a projection, is not TRUE in a CASE or WHERE, and either side may hold the literal.
          name: 'integer_eq',
          cols: 'id BIGINT, e1 BOOLEAN, e2 BOOLEAN, c VARCHAR',
          sql: "SELECT id, price = 12 AS e1, 12 = price AS e2, CASE WHEN price = 12 THEN 'x' WHEN price = 14 THEN 'y' ELSE 'z' END AS c FROM bids WHERE price = 12 OR price = 14 OR price IS NULL OR id = 5",
          expected: rows
            .filter((r) => r.price === 12 || r.price === 14 || r.price === null || r.id === 5)
            .map((r) => ({
              id: r.id,
              e1: r.price === null ? null : r.price === 12,
              e2: r.price === null ? null : r.price === 12,
              c: r.price === 12 ? 'x' : r.price === 14 ? 'y' : 'z',
            })),
        },
      ],
      1,
    );
  });
});
