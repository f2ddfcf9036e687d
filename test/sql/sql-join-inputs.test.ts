// test-lane: pair
/**
 * A regular join takes an append-only input as plain rows and a changelog input as changes
 * (`{ kind, row }`), and tells them apart per side from the plan. Taking one for the other
 * fails loudly or silently: a change read as a row has no join key (joins nothing), a row read
 * as a change has no `.row`. One script runs joins of each mix — rows ⋈ rows into an upsert
 * sink (and into a collect sink), changes ⋈ rows, rows ⟕ changes — and each final table is
 * compared with a reference computed here from SQL's meaning (changes ⋈ changes: the
 * changelog tests).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readUpsertJsonLines } from '../../core/sql/runtime/upsert-json-lines.js';
import { canonRows } from '../helpers/json-rows.js';
import { prng } from '../helpers/prng.js';
import { assertSqlCases, tablesInTempDir, type SqlCase } from '../helpers/sql-cases.js';

interface Order {
  id: number;
  cat: number;
  amount: number;
}
interface Dim {
  cat: number;
  name: string;
}

const DDL = (dir: string): string => `
CREATE TABLE orders (id BIGINT, cat BIGINT, amount BIGINT) WITH ('connector' = 'filesystem', 'path' = '${dir}/orders.jsonl', 'format' = 'json');
CREATE TABLE dims (cat BIGINT, name STRING) WITH ('connector' = 'filesystem', 'path' = '${dir}/dims.jsonl', 'format' = 'json');
CREATE VIEW totals AS SELECT cat, SUM(amount) AS total, COUNT(*) AS n FROM orders GROUP BY cat;
CREATE TABLE upserted (id BIGINT, cat BIGINT, name STRING, PRIMARY KEY (id) NOT ENFORCED) WITH ('connector' = 'filesystem', 'path' = '${dir}/upserted', 'format' = 'json');
INSERT INTO upserted SELECT o.id, o.cat, d.name FROM orders o JOIN dims d ON o.cat = d.cat;
`;

describe('SQL join inputs: plain rows and changes', () => {
  const fx = tablesInTempDir(
    'eddy-join-inputs-',
    () => {
      const rnd = prng(23);
      // Categories 0..9 in orders; dims name 3..12, so some orders and some dims have no partner.
      const orders: Order[] = Array.from({ length: 300 }, (_, id) => ({
        id,
        cat: Math.floor(rnd() * 10),
        amount: 1 + Math.floor(rnd() * 50),
      }));
      const dims: Dim[] = Array.from({ length: 10 }, (_, i) => ({ cat: i + 3, name: `c${i + 3}` }));
      return { orders, dims };
    },
    (d) => ({ 'orders.jsonl': d.orders, 'dims.jsonl': d.dims }),
  );

  /** Each statement's final table, from the data and SQL's meaning. */
  const reference = () => {
    const { orders, dims } = fx.data;
    const nameOf = new Map(dims.map((d) => [d.cat, d.name]));
    const cats = [...new Set(orders.map((o) => o.cat))];
    const of = (cat: number) => orders.filter((o) => o.cat === cat);
    const totals = cats.map((cat) => ({ cat, total: of(cat).reduce((s, o) => s + o.amount, 0), n: of(cat).length }));
    return {
      plain: orders.filter((o) => nameOf.has(o.cat)).map((o) => ({ id: o.id, cat: o.cat, name: nameOf.get(o.cat)! })),
      changes_left: totals.filter((t) => nameOf.has(t.cat)).map((t) => ({ cat: t.cat, total: t.total, name: nameOf.get(t.cat)! })),
      changes_right: dims.map((d) => ({ cat: d.cat, name: d.name, n: totals.find((t) => t.cat === d.cat)?.n ?? null })),
    };
  };

  it('rows ⋈ rows, changes ⋈ rows and rows ⟕ changes give the reference tables (parallelism 2)', async () => {
    const ref = reference();
    assert.ok(ref.plain.length > 100 && ref.plain.length < fx.data.orders.length, 'some orders join, some do not');
    assert.ok(ref.changes_right.some((r) => r.n === null) && ref.changes_right.some((r) => r.n !== null), 'some dims stand padded');
    const cases: SqlCase[] = [
      {
        name: 'plain',
        cols: 'id BIGINT, cat BIGINT, name STRING',
        sql: 'SELECT o.id, o.cat, d.name FROM orders o JOIN dims d ON o.cat = d.cat',
        expected: ref.plain,
      },
      {
        name: 'changes_left',
        cols: 'cat BIGINT, total BIGINT, name STRING',
        sql: 'SELECT t.cat, t.total, d.name FROM totals t JOIN dims d ON t.cat = d.cat',
        expected: ref.changes_left,
      },
      {
        name: 'changes_right',
        cols: 'cat BIGINT, name STRING, n BIGINT',
        sql: 'SELECT d.cat, d.name, t.n FROM dims d LEFT JOIN totals t ON d.cat = t.cat',
        expected: ref.changes_right,
      },
    ];
    const collected = await assertSqlCases(fx.dir, DDL(fx.dir), cases, 2);
    // The append-only join's sink gets plain rows; the changelog joins' sinks get changes.
    for (const x of collected['sql-plain-sink-1']!) assert.ok(!('kind' in (x as object)), JSON.stringify(x));
    for (const name of ['changes_left', 'changes_right'])
      for (const x of collected[`sql-${name}-sink-1`]!) assert.ok('kind' in (x as object) && 'row' in (x as object), JSON.stringify(x));
    assert.deepEqual(canonRows(readUpsertJsonLines(join(fx.dir, 'upserted'))), canonRows(ref.plain), 'the upsert sink of rows ⋈ rows');
  });
});
