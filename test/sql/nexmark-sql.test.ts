// test-lane: pair
// Every Nexmark query's SQL (examples/nexmark-sql, nexmark's own text with only the WITH
// clauses changed) at parallelism 3 against the plain reference of test/helpers/nexmark-reference.ts
// on the same events: the reference test/nexmark/queries.test.ts holds the DataStream jobs
// (examples/nexmark) to, written from each query's SQL with maps and loops, so the SQL result
// equals what the DataStream job commits without running it here. The SQL runs with the
// settings of the Nexmark reference (mini-batch on), and the mini-batched queries also in small
// bundles at parallelism 1; EDDY_SOAK=1 runs every setting (mini-batch off too) at parallelism
// 1 and 3 and ten times the events. The SQL result arrives as a changelog in a collect sink; it
// is folded here into its final table (a multiset: +I/+U add a row, -U/-D take one away) and
// compared with the reference's rows, which are final rows (see README, Nexmark).
// Queries that cannot run yet are skipped cases naming why, queries whose result differs today
// are TODO cases naming why (examples/nexmark-sql/status.ts; also in README).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runJob } from '../../core/index.js';
import { generate, multiset, REFERENCES, type Data, type Row } from '../helpers/nexmark-reference.js';
import { repoRoot } from '../helpers/paths.js';
import { SQL_CANNOT_RUN, SQL_DIFFERS } from '../../examples/nexmark-sql/status.js';

const SOAK = process.env.EDDY_SOAK === '1' ? 10 : 1;

/** The SQL settings of a run, as job arguments (what the benchmark passes, see bench/nexmark.ts). */
const SETTINGS: Record<string, Record<string, string>> = {
  // The Nexmark reference config: mini-batch 2 s / 50,000 rows (at these sizes one bundle per barrier or per run).
  reference: { 'sql.conf': join(repoRoot, 'examples', 'nexmark-sql', 'sql-conf.yaml') },
  // Bundles of 64 rows, given as --arg: many bundles per run, each a net change.
  'mini-batch 64 rows': {
    'table.exec.mini-batch.enabled': 'true',
    'table.exec.mini-batch.allow-latency': '2 s',
    'table.exec.mini-batch.size': '64',
  },
  // Flink's defaults: every change emitted.
  'no mini-batch': {},
};

/** Queries with a non-windowed GROUP BY or a Top-N: the ones mini-batch changes (the others plan the same). */
const MINI_BATCHED = new Set(['q4', 'q9', 'q15', 'q16', 'q17', 'q18', 'q19']);

/**
 * Parallelism 3 is where records cross threads. Every query runs there with the reference
 * settings, as the benchmark runs it; those mini-batch changes also at parallelism 1 in small
 * bundles. EDDY_SOAK=1 runs every query at 1 and 3 in each of the three settings.
 */
function runsOf(q: string): Array<{ parallelism: number; settings: string }> {
  if (SOAK > 1) return [1, 3].flatMap((parallelism) => Object.keys(SETTINGS).map((settings) => ({ parallelism, settings })));
  return [{ parallelism: 3, settings: 'reference' }, ...(MINI_BATCHED.has(q) ? [{ parallelism: 1, settings: 'mini-batch 64 rows' }] : [])];
}

/**
 * Events and event-time rate per query: few events, at 100 events per second of event time
 * where 10 s windows need several windows' worth of events. The cases run in this order: queries
 * whose plans have as many tasks follow each other (3, 6, 12, 15 and 18 threads at parallelism
 * 3 today), because runJob hands a job the idle threads of the last one with as many tasks
 * (core/runtime/pool.ts) and a cold thread imports the engine and plans the SQL before its first
 * record. The order only saves time: a query whose plan changes shape just starts cold.
 */
const RUNS: Record<string, { events: number; rate: number }> = {
  q0: { events: 2_000, rate: 1000 },
  q1: { events: 2_000, rate: 1000 },
  q2: { events: 5_000, rate: 1000 },
  q10: { events: 2_000, rate: 1000 },
  q13: { events: 2_000, rate: 1000 },
  q14: { events: 12_000, rate: 1000 },
  q21: { events: 2_000, rate: 1000 },
  q22: { events: 2_000, rate: 1000 },
  q11: { events: 3_000, rate: 100 },
  q12: { events: 3_000, rate: 1000 },
  q15: { events: 2_000, rate: 1000 },
  q16: { events: 2_000, rate: 1000 },
  q17: { events: 2_000, rate: 1000 },
  q18: { events: 3_000, rate: 1000 },
  q19: { events: 3_000, rate: 1000 },
  q3: { events: 8_000, rate: 1000 },
  q20: { events: 5_000, rate: 1000 },
  q7: { events: 3_000, rate: 100 },
  q9: { events: 3_000, rate: 1000 },
  q4: { events: 3_000, rate: 1000 },
  q5: { events: 1_500, rate: 100 },
  q8: { events: 2_000, rate: 100 },
  q6: { events: 6_000, rate: 1000 },
};

/** What a column's values are compared as: names case-folded, timestamps as ms. */
function normalize(row: Row): Row {
  const out: Row = {};
  for (const [k, v] of Object.entries(row)) out[k.toLowerCase()] = v instanceof Date ? v.getTime() : typeof v === 'bigint' ? Number(v) : v;
  return out;
}

/** Per query, how its SQL rows map onto the reference's (the DataStream job's) columns. */
const ADJUST: Record<string, (rows: Row[]) => Row[]> = {
  // nexmark's q7 INSERTs `B.auction, B.price, B.bidder, …` into (auction, bidder, price, …):
  // positionally, so the sink's bidder holds the price and its price the bidder. The
  // DataStream job names the columns as the SELECT does.
  q7: (rows) => rows.map(({ bidder, price, ...rest }) => ({ ...rest, bidder: price, price: bidder })),
};

/** The final table of a changelog (or of plain rows, which are all inserts). */
function finalTable(records: unknown[]): Row[] {
  const counts = new Map<string, { row: Row; n: number }>();
  for (const rec of records) {
    const r = rec as { kind?: string; row?: Row };
    const change = typeof r.kind === 'string' && r.row !== undefined;
    const row = normalize(change ? r.row! : (rec as Row));
    const key = multiset([row])[0];
    const e = counts.get(key) ?? counts.set(key, { row, n: 0 }).get(key)!;
    const sign = !change || r.kind === '+I' || r.kind === '+U' ? 1 : -1;
    e.n += sign;
    assert.ok(e.n >= 0, `a ${r.kind} retracts a row the changelog does not hold: ${key}`);
  }
  return [...counts.values()].flatMap(({ row, n }) => Array<Row>(n).fill(row));
}

describe('nexmark SQL against the plain references of the DataStream queries', () => {
  const data = new Map<string, Data>();

  for (const [q, { events, rate }] of Object.entries(RUNS)) {
    const skip = SQL_CANNOT_RUN[q];
    // A query whose result is known to differ runs as a TODO: reported, not failing the suite, and it passes once fixed.
    const todo = SQL_DIFFERS[q] ? `${q} differs today: ${SQL_DIFFERS[q]}` : false;
    const runs = runsOf(q);
    it(
      `${q}: SQL ${runs.map((r) => `at parallelism ${r.parallelism} (${r.settings})`).join(', ')} equals the reference`,
      { skip: skip ? `${q} cannot run yet: ${skip}` : false, todo },
      async () => {
        const n = events * SOAK;
        const key = `${n}@${rate}`;
        if (!data.has(key)) data.set(key, generate(n, rate));
        // q12 counts in windows of the wall clock: its `compare` keeps the per-bidder totals, which are reproducible.
        const { expected: reference, compare = (r: Row[]) => r } = REFERENCES[q];
        const expected = reference(data.get(key)!).map(normalize);
        assert.ok(expected.length > 0, `${q}: the reference has rows at ${n} events`);
        for (const { parallelism, settings } of runs) {
          const res = await runJob(join(repoRoot, 'dist', 'examples', 'nexmark-sql', 'run.js'), {
            parallelism,
            args: { events: String(n), rate: String(rate), query: q, sink: 'collect', ...SETTINGS[settings] },
          });
          const got = compare((ADJUST[q] ?? ((r) => r))(finalTable(Object.values(res.collected).flat())));
          const [g, e] = [multiset(got), multiset(expected)];
          if (g.length !== e.length)
            assert.fail(
              `${q} at parallelism ${parallelism} (${settings}): SQL has ${g.length} rows, the reference ${e.length}; first SQL row ${g[0]}, first reference row ${e[0]}`,
            );
          assert.deepEqual(g, e, `${q} at parallelism ${parallelism} (${settings})`);
        }
      },
    );
  }
});
