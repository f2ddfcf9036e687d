// test-lane: pair
// Top-N (ROW_NUMBER() OVER (PARTITION BY cat ORDER BY amount DESC, id) <= 3) over random append
// and changelog input, with and without the row number: the table the emitted changelog
// materializes equals the top 3 of each partition computed here by sorting the final input
// table; and the changelog is well-formed (nothing retracted that was not there).
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { runJob } from '../../core/index.js';
import type { ChangeRow, Row } from '../../core/sql/runtime/index.js';
import { orderChanges } from './changelog-inputs.js';
import { appendRows, TOP } from './jobs/topn-job.js';

const JOB = fileURLToPath(new URL('./jobs/topn-job.js', import.meta.url));
const N = 1500;
const SEED = 5;

function canon(r: Row): string {
  return JSON.stringify(
    Object.keys(r)
      .sort()
      .map((k) => [k, r[k] ?? null]),
  );
}

/** The rows a changelog leaves (each at most once here: a count outside 0..1 fails). */
function materialize(changes: ChangeRow[]): string[] {
  const count = new Map<string, number>();
  for (const c of changes) {
    const k = canon(c.row);
    count.set(k, (count.get(k) ?? 0) + (c.kind === '+I' || c.kind === '+U' ? 1 : -1));
  }
  for (const [k, n] of count) assert.ok(n === 0 || n === 1, `row ${k} ends with count ${n}`);
  return [...count]
    .filter(([, n]) => n === 1)
    .map(([k]) => k)
    .sort();
}

/** The live rows of a changelog input. */
function finalTable(changes: ChangeRow[]): Row[] {
  const live = new Map<string, Row>();
  for (const c of changes) {
    if (c.kind === '+I' || c.kind === '+U') live.set(canon(c.row), c.row);
    else live.delete(canon(c.row));
  }
  return [...live.values()];
}

/** Top 3 per cat by amount DESC (nulls last, as Flink sorts nulls low), then id; with rn when asked. */
function reference(rows: Row[], rn: boolean): string[] {
  const parts = new Map<unknown, Row[]>();
  for (const r of rows) parts.set(r.cat, [...(parts.get(r.cat) ?? []), r]);
  const out: Row[] = [];
  for (const rs of parts.values()) {
    rs.sort((a, b) => {
      if (a.amount !== b.amount) {
        if (a.amount === null) return 1;
        if (b.amount === null) return -1;
        return (b.amount as number) - (a.amount as number);
      }
      return (a.id as number) - (b.id as number);
    });
    rs.slice(0, TOP).forEach((r, i) => out.push(rn ? { ...r, rn: i + 1 } : r));
  }
  return out.map(canon).sort();
}

describe('Top-N over random input', () => {
  it('append and changelog input, with and without the row number, parallelism 2: the materialized output is the top 3 of each partition', async (t) => {
    const result = await runJob(JOB, { parallelism: 2, args: { n: String(N), seed: String(SEED) } });
    const inputs = { append: appendRows(SEED, N), changelog: finalTable(orderChanges(SEED, N)) };
    for (const name of ['append', 'changelog'] as const) {
      for (const rn of [true, false]) {
        const uid = `${name}-${rn ? 'rn' : 'set'}-out`;
        const out = result.collected[uid] as ChangeRow[];
        assert.deepEqual(materialize(out), reference(inputs[name], rn), uid);
        t.diagnostic(`${uid}: ${out.length} changes`);
      }
    }
  });
});
