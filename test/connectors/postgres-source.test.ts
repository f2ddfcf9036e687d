// Sources.postgres against a real throwaway PostgreSQL server: rows in (txid, id) order, never
// skipping a row that a slow writer commits after a faster one, and a restore that resumes
// exactly after the checkpointed position — checked reader by reader under concurrent writers
// with random commit delays, and as a job with an injected failure.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { Sources } from '../../core/connectors/index.js';
import type { ConnectorContext, SourceReader } from '../../core/connectors/types.js';
import { runJob } from '../../core/runtime/job-run.js';
import { fixture } from '../helpers/paths.js';
import { PgServer, postgresSkip } from '../helpers/postgres-server.js';
import { prng } from '../helpers/prng.js';

interface Row {
  id: string;
  txid: string;
  v: string;
}

const ctx: ConnectorContext = { subtaskIndex: 0, parallelism: 1, operatorUid: 'rows', attempt: 0, report() {} };

async function client(server: PgServer): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: server.url() });
  await c.connect();
  return c;
}

/** Polls until the reader has nothing more right now; returns what it emitted. */
async function drain(reader: SourceReader<Row>, max = 7): Promise<Row[]> {
  const out: Row[] = [];
  for (;;) {
    const s = await reader.poll({ collect: (r) => out.push(r) }, max);
    if (s !== 'more') return out;
  }
}

async function makeTable(server: PgServer, table: string): Promise<void> {
  await server.query(`CREATE TABLE ${table} (id bigserial PRIMARY KEY, txid xid8 NOT NULL DEFAULT pg_current_xact_id(), v text NOT NULL)`);
}

describe('postgres source', { skip: postgresSkip }, () => {
  let server: PgServer;
  before(async () => {
    server = await PgServer.start();
  });
  after(async () => {
    await server?.stop();
  });

  it('a row committed late by a slow writer is not skipped (where ordering by id alone would skip it)', async () => {
    await makeTable(server, 'late');
    const slow = await client(server);
    const fast = await client(server);
    const reader = (await Sources.postgres<Row>({
      connectionString: server.url(),
      table: 'late',
      column: 'id',
      bounded: false,
    }).createReader(ctx)) as SourceReader<Row>;
    await reader.open?.();
    try {
      await slow.query('BEGIN');
      await slow.query("INSERT INTO late (v) VALUES ('slow')"); // takes id 1
      await fast.query("INSERT INTO late (v) VALUES ('fast')"); // id 2, committed first
      // What a naive reader sees now: id 2, so its position would pass id 1 for good.
      assert.deepEqual(
        (await fast.query('SELECT v FROM late WHERE id > 0 ORDER BY id')).rows.map((r) => r.v),
        ['fast'],
      );
      assert.deepEqual(await drain(reader), [], 'nothing is read while an older transaction may still commit');
      await slow.query('COMMIT');
      assert.deepEqual(
        (await drain(reader)).map((r) => r.v),
        ['slow', 'fast'],
      );
    } finally {
      await reader.close?.();
      await slow.end();
      await fast.end();
    }
  });

  it('under concurrent writers with random commit delays, restores from random positions deliver every row exactly once', async () => {
    await makeTable(server, 'busy');
    const rnd = prng(42);
    const WRITERS = 4;
    const TXNS = 25;
    const RESTORES = 3;
    const writers = await Promise.all(Array.from({ length: WRITERS }, () => client(server)));
    let written = 0;
    // The writers' last transactions wait for the reader's third restore, so that the restores
    // happen while rows are still being written however fast either side runs (on a busy
    // machine the writers could finish after two of them: 'restored 2 times').
    let restoredEnough!: () => void;
    const enough = new Promise<void>((r) => (restoredEnough = r));
    const writing = Promise.all(
      writers.map(async (c, w) => {
        for (let t = 0; t < TXNS; t++) {
          if (t === TXNS - 1) await enough;
          await c.query('BEGIN');
          const n = 1 + Math.floor(rnd() * 4);
          for (let k = 0; k < n; k++) await c.query('INSERT INTO busy (v) VALUES ($1)', [`w${w}-t${t}-${k}`]);
          await new Promise((r) => setTimeout(r, Math.floor(rnd() * 30)));
          await c.query('COMMIT');
          written += n;
        }
      }),
    );
    const source = Sources.postgres<Row>({ connectionString: server.url(), table: 'busy', column: 'id', bounded: false, pollMs: 5 });
    // The committed output: what a reader emitted up to its last snapshot; after a "failure"
    // a new reader restores that snapshot and what the old one emitted since is dropped.
    const committed: Row[] = [];
    let reader = (await source.createReader(ctx)) as SourceReader<Row>;
    await reader.open?.();
    let pending: Row[] = [];
    let restores = 0;
    let done = false;
    void writing.then(() => (done = true));
    for (let round = 0; ; round++) {
      pending.push(...(await drain(reader, 1 + Math.floor(rnd() * 5))));
      if (round % 3 === 0) {
        // A checkpoint: the position and everything before it are committed.
        const state = reader.snapshotState!();
        committed.push(...pending);
        pending = [];
        if (rnd() < 0.5) {
          // A failure after some more reading: those rows are lost with the old reader.
          await drain(reader, 3);
          await reader.close?.();
          reader = (await source.createReader(ctx)) as SourceReader<Row>;
          reader.restoreState!(JSON.parse(JSON.stringify(state)));
          await reader.open?.();
          if (++restores === RESTORES) restoredEnough();
        }
      }
      if (done && round > 0) {
        const last = await drain(reader);
        committed.push(...pending, ...last);
        if ((await server.query('SELECT count(*)::int AS n FROM busy'))[0].n === committed.length) break;
        pending = [];
      }
      await new Promise((r) => setTimeout(r, 3));
    }
    await reader.close?.();
    await Promise.all(writers.map((c) => c.end()));
    assert.ok(restores >= RESTORES, `restored ${restores} times`);
    const ids = committed.map((r) => r.id);
    assert.equal(new Set(ids).size, ids.length, 'no row twice');
    assert.equal(committed.length, written);
    // The order is (txid, id): each transaction's rows together, transactions in xid order.
    const all = await server.query<Row>('SELECT id, txid::text AS txid, v FROM busy ORDER BY txid, id');
    assert.deepEqual(
      committed.map((r) => r.id),
      all.map((r) => r.id),
    );
  });

  it('bounded: reads the rows committed at the first start, not those added later, also after a restore', async () => {
    await makeTable(server, 'bounded');
    await server.query("INSERT INTO bounded (v) SELECT 'r' || g FROM generate_series(1, 10) g");
    const source = Sources.postgres<Row>({ connectionString: server.url(), table: 'bounded', column: 'id' });
    const r1 = (await source.createReader(ctx)) as SourceReader<Row>;
    await r1.open?.();
    const first: Row[] = [];
    assert.equal(await r1.poll({ collect: (r) => first.push(r) }, 4), 'more');
    const state = r1.snapshotState!();
    await server.query("INSERT INTO bounded (v) VALUES ('late')");
    await r1.close?.();
    const r2 = (await source.createReader(ctx)) as SourceReader<Row>;
    r2.restoreState!(JSON.parse(JSON.stringify(state)));
    await r2.open?.();
    const rest: Row[] = [];
    let s;
    while ((s = await r2.poll({ collect: (r) => rest.push(r) }, 4)) === 'more');
    assert.equal(s, 'end');
    await r2.close?.();
    assert.deepEqual(
      first.map((r) => r.v),
      ['r1', 'r2', 'r3', 'r4'],
    );
    assert.deepEqual(
      rest.map((r) => r.v),
      ['r5', 'r6', 'r7', 'r8', 'r9', 'r10'],
      'resumes right after r4; the row added after the start is not read',
    );
  });

  it('as a job with a failure after a checkpoint: every row collected exactly once, in order', async () => {
    await makeTable(server, 'job_rows');
    await server.query("INSERT INTO job_rows (v) SELECT 'r' || g FROM generate_series(1, 40000) g");
    const result = await runJob(fixture('postgres-source.mjs'), {
      mode: 'exactly-once',
      checkpointIntervalMs: 50,
      restart: 'fixed:5:10',
      args: { pg: server.url(), table: 'job_rows', faults: 'map@8000' },
    });
    assert.ok(result.restarts >= 1, 'the injected failure restarted the job');
    const got = (result.collected.out as Row[]).map((r) => r.v);
    assert.deepEqual(
      got,
      Array.from({ length: 40000 }, (_, i) => `r${i + 1}`),
    );
  });
});
