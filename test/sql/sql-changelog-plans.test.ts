// test-lane: pair
/**
 * The planner's changelog nodes end to end: a non-windowed GROUP BY, a regular LEFT JOIN and a
 * Top-N, each written by SQL into an upsert file sink (PRIMARY KEY … NOT ENFORCED); the table
 * the committed changes describe equals a reference computed here over the input, at
 * parallelism 3 (and 1 with EDDY_SOAK=1, to stay in the test time budget). (The runtime's
 * retraction semantics are tested by sqlchange.)
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { runJob } from '../../core/index.js';
import { readUpsertJsonLines } from '../../core/sql/runtime/index.js';
import { prng } from '../helpers/prng.js';
import { repoRoot } from '../helpers/paths.js';
import { canonRows } from '../helpers/json-rows.js';

const SQL_JOB = join(repoRoot, 'dist', 'core', 'sql', 'sql-job.js');

interface Order {
  oid: number;
  cust: number;
  amount: number;
}

describe('SQL changelog plans into upsert sinks', () => {
  let dir: string;
  let orders: Order[];
  const customers = Array.from({ length: 12 }, (_, i) => ({ cid: i, region: ['north', 'south', 'east'][i % 3]! }));
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'eddy-sql-cl-'));
    const rnd = prng(5);
    orders = Array.from({ length: 400 }, (_, i) => ({ oid: i, cust: Math.floor(rnd() * 15), amount: 1 + Math.floor(rnd() * 500) }));
    writeFileSync(join(dir, 'orders.jsonl'), orders.map((o) => JSON.stringify(o)).join('\n'));
    writeFileSync(join(dir, 'customers.jsonl'), customers.map((c) => JSON.stringify(c)).join('\n'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const parallelism of process.env.EDDY_SOAK ? [1, 3] : [3]) {
    it(`GROUP BY, LEFT JOIN and Top-N at parallelism ${parallelism}`, { timeout: 120_000 }, async () => {
      const out = join(dir, `p${parallelism}`);
      const script = join(dir, `changelog-${parallelism}.sql`);
      writeFileSync(
        script,
        `
        CREATE TABLE orders (oid BIGINT, cust BIGINT, amount INT) WITH ('connector' = 'filesystem', 'path' = '${join(dir, 'orders.jsonl')}', 'format' = 'json');
        CREATE TABLE customers (cid BIGINT, region VARCHAR) WITH ('connector' = 'filesystem', 'path' = '${join(dir, 'customers.jsonl')}', 'format' = 'json');
        CREATE TABLE per_cust (cust BIGINT, n BIGINT, total INT, biggest INT, PRIMARY KEY (cust) NOT ENFORCED)
          WITH ('connector' = 'filesystem', 'path' = '${out}/per_cust', 'format' = 'json');
        CREATE TABLE with_region (oid BIGINT, region VARCHAR, PRIMARY KEY (oid) NOT ENFORCED)
          WITH ('connector' = 'filesystem', 'path' = '${out}/with_region', 'format' = 'json');
        CREATE TABLE top2 (cust BIGINT, oid BIGINT, amount INT, PRIMARY KEY (oid) NOT ENFORCED)
          WITH ('connector' = 'filesystem', 'path' = '${out}/top2', 'format' = 'json');
        INSERT INTO per_cust SELECT cust, COUNT(*), SUM(amount), MAX(amount) FROM orders WHERE amount > 10 GROUP BY cust HAVING COUNT(*) > 3;
        INSERT INTO with_region SELECT o.oid, c.region FROM orders o LEFT JOIN customers c ON o.cust = c.cid;
        INSERT INTO top2 SELECT cust, oid, amount FROM (
          SELECT cust, oid, amount, ROW_NUMBER() OVER (PARTITION BY cust ORDER BY amount DESC, oid) AS rn FROM orders
        ) WHERE rn <= 2;
      `,
      );
      await runJob(SQL_JOB, { parallelism, args: { 'sql.file': script } });

      const perCust = new Map<number, { cust: number; n: number; total: number; biggest: number }>();
      for (const o of orders) {
        if (o.amount <= 10) continue;
        const g = perCust.get(o.cust) ?? { cust: o.cust, n: 0, total: 0, biggest: 0 };
        g.n++;
        g.total += o.amount;
        g.biggest = Math.max(g.biggest, o.amount);
        perCust.set(o.cust, g);
      }
      assert.deepEqual(canonRows(readUpsertJsonLines(join(out, 'per_cust'))), canonRows([...perCust.values()].filter((g) => g.n > 3)));

      const region = new Map(customers.map((c) => [c.cid, c.region]));
      assert.deepEqual(
        canonRows(readUpsertJsonLines(join(out, 'with_region'))),
        canonRows(orders.map((o) => ({ oid: o.oid, region: region.get(o.cust) ?? null }))),
      );

      const top: Order[] = [];
      for (const cust of new Set(orders.map((o) => o.cust))) {
        top.push(
          ...orders
            .filter((o) => o.cust === cust)
            .sort((a, b) => b.amount - a.amount || a.oid - b.oid)
            .slice(0, 2),
        );
      }
      assert.deepEqual(
        canonRows(readUpsertJsonLines(join(out, 'top2'))),
        canonRows(top.map((o) => ({ cust: o.cust, oid: o.oid, amount: o.amount }))),
      );
    });
  }
});
