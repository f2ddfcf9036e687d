// test-lane: pair
// Bad input to the PostgreSQL connectors, through the eddy command: a connection string naming
// a database that does not exist, a server that is not there, a missing table, a server with
// prepared transactions disabled, a source table without its xid8 column. Each is answered
// with one line `eddy: [CODE] …` naming the thing and what to do (no stack), before any
// worker starts, and nothing reaches the database.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { join } from 'node:path';
import { cliPath, fixture, repoRoot } from '../helpers/paths.js';
import { PgServer, postgresSkip } from '../helpers/postgres-server.js';

// The example as `npm run build` compiles it: the .ts runs through tsx in the CLI and in every
// worker of every process, which only adds load time (tsx jobs: runtime/typescript-job, docs/readme-examples).
const example = join(repoRoot, 'dist', 'examples', 'postgres-exactly-once.js');

function eddy(args: string[]): { code: number | null; stderr: string } {
  const r = spawnSync(process.execPath, [cliPath, 'run', ...args, '--no-progress'], { cwd: repoRoot, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stderr: r.stderr };
}

/** Exit 1, one line on stderr, `eddy: [CODE] `, containing each word, no stack. */
function assertOneLine(r: { code: number | null; stderr: string }, code: string, words: string[]): void {
  assert.equal(r.code, 1, r.stderr);
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `expected one line, got:\n${r.stderr}`);
  assert.match(lines[0], new RegExp(`^eddy: \\[${code}\\] `));
  for (const w of words) assert.ok(lines[0].includes(w), `'${w}' missing from: ${lines[0]}`);
}

async function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

describe('postgres connectors: bad input', { skip: postgresSkip }, () => {
  let server: PgServer;
  let noPrepared: PgServer;
  before(async () => {
    [server, noPrepared] = await Promise.all([PgServer.start(), PgServer.start({ maxPreparedTransactions: 0 })]);
  });
  after(async () => {
    await Promise.all([server?.stop(), noPrepared?.stop()]);
  });

  const sinkArgs = (url: string, table: string) => [
    example,
    '--arg',
    `pg=${url}`,
    '--arg',
    `table=${table}`,
    '--arg',
    'count=100',
    '--arg',
    'keys=4',
  ];

  it('a connection string naming a database that does not exist', async () => {
    const r = eddy(sinkArgs(server.url('nosuchdb'), 'sums'));
    assertOneLine(r, 'SINK_FAILED', [
      `127.0.0.1:${server.port}/nosuchdb`,
      'database "nosuchdb" does not exist',
      'fix the connection string',
    ]);
  });

  it('an unreachable server', async () => {
    const port = await closedPort();
    const r = eddy(sinkArgs(`postgres://postgres:secret@127.0.0.1:${port}/postgres`, 'sums'));
    assertOneLine(r, 'SINK_FAILED', [`127.0.0.1:${port}/postgres`, 'connection refused', 'start the server']);
    assert.ok(!r.stderr.includes('secret'), 'the password is not printed');
  });

  it('a missing table (sink without createIfMissing)', async () => {
    const r = eddy([
      fixture('postgres-validating.mjs'),
      '--arg',
      `pg=${server.url()}`,
      '--arg',
      'table=nosuch',
      '--arg',
      'count=100',
      '--arg',
      'keys=4',
      '--arg',
      'create=no',
    ]);
    assertOneLine(r, 'OUTPUT_FAILED', ["table 'nosuch' does not exist", 'create it first']);
  });

  it('max_prepared_transactions = 0: exactly-once refuses to start, and nothing was written', async () => {
    const r = eddy(sinkArgs(noPrepared.url(), 'sums'));
    assertOneLine(r, 'SINK_FAILED', [
      'max_prepared_transactions is 0',
      `127.0.0.1:${noPrepared.port}/postgres`,
      'postgresql.conf',
      "'at-least-once'",
    ]);
    // The table was created (createIfMissing runs first) but holds nothing.
    assert.deepEqual(await noPrepared.query('SELECT count(*)::int AS n FROM sums'), [{ n: 0 }]);
  });

  it('the same job in at-least-once mode runs on that server', async () => {
    const r = eddy([...sinkArgs(noPrepared.url(), 'sums_alo'), '--arg', 'sink-mode=at-least-once']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await noPrepared.query('SELECT count(*)::int AS n FROM sums_alo'), [{ n: 100 }]);
  });

  it('a source table that does not exist', async () => {
    const r = eddy([fixture('postgres-source.mjs'), '--arg', `pg=${server.url()}`, '--arg', 'table=nosuch_rows', '--arg', 'out=print']);
    assertOneLine(r, 'INPUT_NOT_FOUND', ["table 'nosuch_rows' does not exist"]);
  });

  it('a source table without the xid8 column names the column to add', async () => {
    await server.query('CREATE TABLE plain_rows (id bigserial PRIMARY KEY, v text)');
    const r = eddy([fixture('postgres-source.mjs'), '--arg', `pg=${server.url()}`, '--arg', 'table=plain_rows', '--arg', 'out=print']);
    assertOneLine(r, 'INPUT_NOT_FOUND', ["no xid8 column 'txid'", 'pg_current_xact_id()', 'txidColumn: null']);
  });
});
