// Sinks.postgres against a real throwaway PostgreSQL server: kill -9 of the eddy process at
// random moments with `--resume latest`, failures injected in user code, and the server itself
// restarted mid-run. The table must end holding exactly the fault-free output (compared row by
// row by seq with a plain reference loop): exactly-once and upsert with no duplicate and none
// missing; at-least-once with none missing, its duplicates reported.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { Sinks } from '../../core/connectors/index.js';
import type { ConnectorContext, SinkWriter } from '../../core/connectors/types.js';
import { runCli, startCli } from '../helpers/cli-run.js';
import { repoRoot, fixture } from '../helpers/paths.js';
import { checkRows } from '../helpers/postgres-output.js';
import { PgServer, postgresSkip } from '../helpers/postgres-server.js';
import { prng } from '../helpers/prng.js';

const SOAK = process.env.EDDY_SOAK === '1';
// The example as `npm run build` compiles it: the .ts runs through tsx in the CLI and in every
// worker of every process, which only adds load time (tsx jobs: runtime/typescript-job, docs/readme-examples).
const example = join(repoRoot, 'dist', 'examples', 'postgres-exactly-once.js');

interface Runs {
  restored: number;
  killed: number;
  processes: number;
}

/** Ids of the completed checkpoints in `dir` (chk-N folders with their metadata). */
function checkpointIds(dir: string): number[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => /^chk-\d+$/.test(f) && existsSync(join(dir, f, '_metadata')))
    .map((f) => Number(f.slice(4)));
}

/**
 * Runs the job until it finishes: each of the first `kills` processes is SIGKILLed at a random
 * moment within `spreadMs` after it completed its first checkpoint (so the next process has one
 * to resume from; the kill lands anywhere: mid-checkpoint, mid-commit, between), and each next
 * process resumes with --resume latest.
 */
async function runWithKills(base: string[], checkpointDir: string, seed: number, kills: number, spreadMs = 1200): Promise<Runs> {
  const r = prng(seed);
  let killed = 0;
  let restored = 0;
  for (let run = 0; ; run++) {
    const args = run === 0 ? base : [...base, '--resume', 'latest'];
    const before = Math.max(0, ...checkpointIds(checkpointDir));
    const { child, exit } = startCli(args);
    let ended = false;
    void exit.then(() => (ended = true));
    if (killed < kills) {
      while (!ended && Math.max(0, ...checkpointIds(checkpointDir)) <= before) await new Promise((res) => setTimeout(res, 25));
      if (!ended) {
        await new Promise((res) => setTimeout(res, Math.floor(r() * spreadMs)));
        child.kill('SIGKILL');
      }
    }
    const e = await exit;
    if (e.stderr.includes('eddy: restored checkpoint')) restored++;
    if (e.signal === 'SIGKILL') {
      killed++;
      continue;
    }
    assert.equal(e.code, 0, `run ${run} failed: ${e.stderr}`);
    return { restored, killed, processes: run + 1 };
  }
}

async function prepared(server: PgServer): Promise<string[]> {
  return (await server.query<{ gid: string }>('SELECT gid FROM pg_prepared_xacts')).map((r) => r.gid);
}

function ctxOf(attempt: number, jobKey: string): ConnectorContext {
  return { subtaskIndex: 0, parallelism: 1, operatorUid: 'pg', attempt, jobKey, report() {} };
}

describe('postgres sink', { skip: postgresSkip }, () => {
  let server: PgServer;
  let dir: string;
  before(async () => {
    server = await PgServer.start({ maxPreparedTransactions: 64 });
    dir = mkdtempSync(join(tmpdir(), 'eddy-pg-sink-'));
  });
  after(async () => {
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const jobArgs = (job: string, table: string, count: number, keys: number, rate: number, extra: string[] = []) => [
    'run',
    job,
    '--parallelism',
    '2',
    '--checkpoint-dir',
    join(dir, table),
    '--checkpoint-interval',
    '150',
    '--no-progress',
    '--restart',
    'fixed:30:100',
    '--arg',
    `pg=${server.url()}`,
    '--arg',
    `table=${table}`,
    '--arg',
    `count=${count}`,
    '--arg',
    `keys=${keys}`,
    '--arg',
    `rate=${rate}`,
    ...extra,
  ];

  for (const seed of SOAK ? [7, 11, 19, 23] : [7]) {
    it(`the example, exactly-once: ${SOAK ? 5 : 3} kill -9 at random moments and --resume latest (seed ${seed}): the table is the fault-free output`, async (t: TestContext) => {
      const table = `example_${seed}`;
      const count = 24_000;
      const runs = await runWithKills(jobArgs(example, table, count, 37, 8_000), join(dir, table), seed, SOAK ? 5 : 3);
      t.diagnostic(`processes ${runs.processes}, killed ${runs.killed}, resumed from a checkpoint ${runs.restored}`);
      assert.ok(runs.restored >= 1, 'at least one process resumed from a checkpoint of a killed one');
      assert.deepEqual(await checkRows(server, table, count, 37), { rows: count, lost: 0, duplicated: 0, wrong: 0 });
      assert.deepEqual(await prepared(server), [], 'no prepared transaction is left behind');
    });
  }

  it('exactly-once: user functions that throw and workers that exit, plus kill -9: no duplicate, none missing, sums exact', async (t: TestContext) => {
    const table = 'eo_faults';
    const count = 20_000;
    // Each process: attempt 0 throws in a map, attempt 1 exits its worker, then it runs on.
    const runs = await runWithKills(
      jobArgs(fixture('postgres-validating.mjs'), table, count, 24, 8_000, ['--arg', 'faults=map@3000,exit@2000']),
      join(dir, table),
      5,
      2,
    );
    t.diagnostic(`processes ${runs.processes}, killed ${runs.killed}, resumed ${runs.restored}`);
    assert.deepEqual(await checkRows(server, table, count, 24), { rows: count, lost: 0, duplicated: 0, wrong: 0 });
    assert.deepEqual(await prepared(server), []);
  });

  it('at-least-once under the same faults: nothing lost, every row right, duplicates reported', async (t: TestContext) => {
    const table = 'alo_faults';
    const count = 20_000;
    await runWithKills(
      jobArgs(fixture('postgres-validating.mjs'), table, count, 24, 8_000, [
        '--arg',
        'sink-mode=at-least-once',
        '--arg',
        'faults=map@3000,exit@2000',
      ]),
      join(dir, table),
      5,
      2,
    );
    const c = await checkRows(server, table, count, 24);
    t.diagnostic(`at-least-once: ${c.rows} rows for ${count} records, ${c.duplicated} duplicates`);
    assert.equal(c.lost, 0);
    assert.equal(c.wrong, 0);
    assert.equal(c.rows, count + c.duplicated);
    // The faults replay records after their checkpoint: at-least-once shows it.
    assert.ok(c.duplicated > 0, 'replays after the injected failures wrote some rows twice');
  });

  it('upsert under the same faults: the table ends exact (one row per seq, values of the fault-free run)', async () => {
    const table = 'upsert_faults';
    const count = 12_000;
    await runWithKills(
      jobArgs(fixture('postgres-validating.mjs'), table, count, 24, 8_000, [
        '--arg',
        'sink-mode=upsert',
        '--arg',
        'faults=map@3000,exit@2000',
      ]),
      join(dir, table),
      9,
      1,
    );
    assert.deepEqual(await checkRows(server, table, count, 24), { rows: count, lost: 0, duplicated: 0, wrong: 0 });
  });

  it('PostgreSQL restarted mid-run (fast shutdown, the job keeps its process): prepared transactions survive, output exact', async (t: TestContext) => {
    const table = 'server_restart';
    const count = 24_000;
    const job = runCli(jobArgs(fixture('postgres-validating.mjs'), table, count, 32, 6_000));
    // Restart while a transaction is prepared and not yet committed.
    const deadline = Date.now() + 60_000;
    let seen: string[] = [];
    while (Date.now() < deadline) {
      seen = await prepared(server);
      if (seen.length > 0) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(seen.length > 0, 'saw a prepared transaction');
    await server.restart(300);
    const exit = await job;
    assert.equal(exit.code, 0, exit.stderr);
    assert.match(exit.stderr, /restarts: [1-9]/, 'the job lost its connections and restarted');
    t.diagnostic(`prepared before the restart: ${seen.length}`);
    assert.deepEqual(await checkRows(server, table, count, 32), { rows: count, lost: 0, duplicated: 0, wrong: 0 });
    assert.deepEqual(await prepared(server), []);
  });

  it('a prepared transaction survives a server restart, commits once from a new writer, and a stale one is rolled back on open', async () => {
    await server.query('CREATE TABLE direct (seq bigint, v text)');
    const sink = Sinks.postgres<{ seq: number; v: string }>({ connectionString: server.url(), table: 'direct', columns: ['seq', 'v'] });
    const w1 = (await sink.createWriter(ctxOf(0, 'direct-job'))) as SinkWriter<{ seq: number; v: string }>;
    await w1.open?.();
    for (let i = 0; i < 10; i++) w1.write({ seq: i, v: `a${i}` });
    const h1 = await w1.prepareCommit!(1);
    for (let i = 10; i < 15; i++) w1.write({ seq: i, v: `b${i}` });
    const h2 = await w1.prepareCommit!(2);
    assert.equal((h1 as string[]).length, 1);
    assert.deepEqual((await prepared(server)).sort(), [...(h1 as string[]), ...(h2 as string[])].sort());
    assert.equal((await server.query('SELECT * FROM direct')).length, 0, 'prepared rows are invisible');
    // The writer's process dies (its connections drop with the server's restart).
    await server.restart();
    assert.equal((await prepared(server)).length, 2, 'both prepared transactions survived the restart');
    // Restore of checkpoint 1: commit its handles (twice: a repeated commit changes nothing),
    // then open rolls back this job's others (checkpoint 2 never completed).
    const w2 = (await sink.createWriter(ctxOf(1, 'direct-job'))) as SinkWriter<{ seq: number; v: string }>;
    await w2.commit!([h1]);
    await w2.commit!([h1]);
    await w2.open?.();
    assert.deepEqual(await prepared(server), []);
    const rows = await server.query<{ seq: string }>('SELECT seq FROM direct ORDER BY seq');
    assert.deepEqual(
      rows.map((r) => Number(r.seq)),
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    );
    await w1.close?.();
    await w2.close?.();
  });

  it("another job's prepared transactions are left alone", async () => {
    await server.query('CREATE TABLE shared (seq bigint, v text)');
    const sink = Sinks.postgres<{ seq: number; v: string }>({ connectionString: server.url(), table: 'shared', columns: ['seq', 'v'] });
    const other = (await sink.createWriter(ctxOf(0, 'job-a'))) as SinkWriter<{ seq: number; v: string }>;
    await other.open?.();
    other.write({ seq: 1, v: 'x' });
    const h = (await other.prepareCommit!(1)) as string[];
    const mine = (await sink.createWriter(ctxOf(1, 'job-b'))) as SinkWriter<{ seq: number; v: string }>;
    await mine.open?.();
    assert.deepEqual(await prepared(server), h);
    await mine.commit!([h]);
    assert.equal((await server.query('SELECT * FROM shared')).length, 1);
    await other.close?.();
    await mine.close?.();
  });
});
