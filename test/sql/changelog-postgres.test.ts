// The PostgreSQL upsert sink of a changelog (postgresUpsertSink): GROUP BY bucket over random
// inserts, updates and deletes, where groups empty (-D → DELETE) and come back, into a real
// throwaway server, with a user function that throws and a worker that exits. The table at the
// end equals the reference computed here from the whole input: every replayed upsert and
// delete landed idempotently, and no deleted group lingers.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { runJob } from '../../core/index.js';
import type { ChangeRow, Row } from '../../core/sql/runtime/index.js';
import { PgServer, postgresSkip } from '../helpers/postgres-server.js';
import { orderChanges } from './changelog-inputs.js';
import { BUCKETS } from './jobs/changelog-job.js';

const JOB = fileURLToPath(new URL('./jobs/changelog-job.js', import.meta.url));
const N = 1200;
const SEED = 21;

/** The live orders after every change, and how many times a bucket went from rows to none. */
function replay(changes: ChangeRow[]): { live: Row[]; emptied: number } {
  const live = new Map<unknown, Row>();
  const perBucket = new Map<number, number>();
  let emptied = 0;
  for (const c of changes) {
    const b = (c.row.id as number) % BUCKETS;
    if (c.kind === '+I' || c.kind === '+U') {
      live.set(c.row.id, c.row);
      perBucket.set(b, (perBucket.get(b) ?? 0) + 1);
    } else {
      live.delete(c.row.id);
      const left = perBucket.get(b)! - 1;
      perBucket.set(b, left);
      // An update's -U empties a one-row bucket only for an instant; its +U refills it.
      if (left === 0 && c.kind === '-D') emptied++;
    }
  }
  return { live: [...live.values()], emptied };
}

/** SELECT id % 97 AS bucket, COUNT(*), SUM(amount), MIN(amount), MAX(amount) … GROUP BY bucket. */
function reference(live: Row[]): string[] {
  const groups = new Map<number, number[][]>();
  for (const o of live) {
    const b = (o.id as number) % BUCKETS;
    const g = groups.get(b) ?? [];
    g.push(o.amount === null ? [] : [o.amount as number]);
    groups.set(b, g);
  }
  return [...groups]
    .map(([bucket, rows]) => {
      const a = rows.flat();
      return JSON.stringify([
        bucket,
        rows.length,
        a.length ? a.reduce((s, v) => s + v, 0) : null,
        a.length ? Math.min(...a) : null,
        a.length ? Math.max(...a) : null,
      ]);
    })
    .sort();
}

describe('PostgreSQL upsert sink of a changelog', { skip: postgresSkip }, () => {
  let server: PgServer;
  let dir: string;
  before(async () => {
    server = await PgServer.start();
    dir = mkdtempSync(join(tmpdir(), 'eddy-sql-pg-'));
  });
  after(async () => {
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('GROUP BY with deletes, a throwing function and an exiting worker: the table ends equal to the reference', async (t) => {
    const result = await runJob(JOB, {
      parallelism: 2,
      checkpointIntervalMs: 100,
      mode: 'exactly-once',
      restart: 'fixed:5:50',
      args: { n: String(N), seed: String(SEED), chunk: '150', out: dir, faults: 'yes', pg: server.url(), joins: 'no' },
    });
    assert.equal(result.restarts, 2, 'both injected failures happened');
    const { live, emptied } = replay(orderChanges(SEED, N));
    assert.ok(emptied > 0, 'some group lost its last row (a DELETE went to the table)');
    const rows = await server.query<Record<string, string | number | null>>('SELECT bucket, n, total, lo, hi FROM buckets');
    const table = rows
      .map((r) => JSON.stringify(['bucket', 'n', 'total', 'lo', 'hi'].map((c) => (r[c] === null ? null : Number(r[c])))))
      .sort();
    assert.deepEqual(table, reference(live));
    t.diagnostic(`${table.length} groups at the end, ${emptied} times a group emptied, restarts ${result.restarts}`);
  });
});
