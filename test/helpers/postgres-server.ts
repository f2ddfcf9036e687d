// A throwaway PostgreSQL server for tests: a copy of a cached initdb output in a temp dir,
// postgres on 127.0.0.1 at a random port, stopped (and the dir removed) by the test. As root, initdb and postgres run as
// the `postgres` user (they refuse root). Tests skip with one line when the binaries are absent.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from './servers.js';

/** The directory holding initdb and postgres, or undefined when PostgreSQL is not installed. */
export function postgresBin(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions.length > 0) return join(root, versions[0], 'bin');
  }
  const which = spawnSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' });
  const p = which.stdout.trim();
  return which.status === 0 && p ? join(p, '..') : undefined;
}

/** Why PostgreSQL tests skip, or undefined when they can run. */
export const postgresSkip = postgresBin() === undefined ? 'PostgreSQL is not installed (apt-get install postgresql); skipping' : undefined;

const asRoot = process.getuid?.() === 0;

function asServerUser(cmd: string, args: string[]): [string, string[]] {
  return asRoot ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
}

function serverUser(): { uid: number; gid: number } {
  const uid = Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim());
  const gid = Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim());
  return { uid, gid };
}

const INITDB_ARGS = ['-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync'];

/**
 * The data dir `initdb INITDB_ARGS` produces, made once per PostgreSQL build and user and kept
 * under os.tmpdir(): initdb takes about 3 s and 1.2 CPU-s (busy 2-core machine), a copy of its
 * output about 0.1 s, and every server of every test file starts from the same empty cluster.
 * Made in a private folder and renamed into place, so a run cut short or a second file making it
 * at the same moment never leaves a half-made template to copy.
 */
function initdbTemplate(bin: string): string {
  const version = spawnSync(join(bin, 'postgres'), ['-V'], { encoding: 'utf8' }).stdout.trim();
  const key = createHash('sha256')
    .update([bin, version, process.getuid?.() ?? '', ...INITDB_ARGS].join('\0'))
    .digest('hex')
    .slice(0, 16);
  const template = join(tmpdir(), `eddy-pg-template-${key}`);
  if (existsSync(join(template, 'PG_VERSION'))) return template;
  const work = mkdtempSync(join(tmpdir(), 'eddy-pg-initdb-'));
  try {
    if (asRoot) {
      chmodSync(work, 0o755);
      const { uid, gid } = serverUser();
      chownSync(work, uid, gid);
    }
    const [cmd, args] = asServerUser(join(bin, 'initdb'), ['-D', join(work, 'data'), ...INITDB_ARGS]);
    const r = spawnSync(cmd, args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`initdb failed: ${r.stderr}`);
    try {
      renameSync(join(work, 'data'), template);
    } catch (e) {
      // Another file made it first: theirs is as good.
      if (!existsSync(join(template, 'PG_VERSION'))) throw e;
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return template;
}

export interface PgServerOptions {
  maxPreparedTransactions?: number;
}

export class PgServer {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  readonly dir: string;
  port = 0;

  private constructor(
    private readonly bin: string,
    private readonly opts: PgServerOptions,
  ) {
    this.dir = mkdtempSync(join(tmpdir(), 'eddy-pg-'));
  }

  /** A data dir (a copy of the cached initdb output) + start; the server is ready when this resolves. */
  static async start(opts: PgServerOptions = {}): Promise<PgServer> {
    const bin = postgresBin();
    if (!bin) throw new Error('PostgreSQL binaries not found');
    const s = new PgServer(bin, opts);
    if (asRoot) {
      chmodSync(s.dir, 0o755);
      const { uid, gid } = serverUser();
      chownSync(s.dir, uid, gid);
    }
    // cp -a keeps the owner (postgres, as root) and the 0700 mode postgres insists on.
    const r = spawnSync('cp', ['-a', initdbTemplate(bin), join(s.dir, 'data')], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`copying the initdb template failed: ${r.stderr}`);
    s.port = await freePort();
    await s.run();
    return s;
  }

  /** postgres://postgres@127.0.0.1:PORT/DB */
  url(db = 'postgres'): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${db}`;
  }

  private async run(): Promise<void> {
    const [cmd, args] = asServerUser(join(this.bin, 'postgres'), [
      '-D',
      join(this.dir, 'data'),
      '-p',
      String(this.port),
      '-k',
      this.dir,
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      `max_prepared_transactions=${this.opts.maxPreparedTransactions ?? 64}`,
      '-c',
      'fsync=off',
      '-c',
      'max_connections=200',
    ]);
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    child.stderr!.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    const deadline = Date.now() + 30_000;
    for (;;) {
      const c = new pg.Client({ connectionString: this.url(), connectionTimeoutMillis: 1000 });
      c.on('error', () => {});
      try {
        await c.connect();
        await c.end();
        return;
      } catch {
        if (child.exitCode !== null || Date.now() > deadline) throw new Error(`postgres did not start: ${log}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  /** Fast shutdown (SIGINT: clients disconnected, prepared transactions kept), then start again on the same port. */
  async restart(downMs = 0): Promise<void> {
    await this.shutdown();
    if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
    await this.run();
  }

  private async shutdown(): Promise<void> {
    // To the postmaster itself: runuser forwards SIGTERM (a "smart" shutdown that waits for
    // clients) but not SIGINT (fast: disconnects clients, keeps prepared transactions).
    if (this.child) {
      try {
        process.kill(Number(readFileSync(join(this.dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]), 'SIGINT');
      } catch {
        this.child.kill('SIGKILL');
      }
    }
    await this.exited;
    this.child = undefined;
  }

  /** Runs SQL on a fresh connection (tests' own checks). */
  async query<R extends pg.QueryResultRow = Record<string, unknown>>(sql: string, params: unknown[] = [], db = 'postgres'): Promise<R[]> {
    const c = new pg.Client({ connectionString: this.url(db) });
    c.on('error', () => {});
    await c.connect();
    try {
      return (await c.query<R>(sql, params)).rows;
    } finally {
      await c.end();
    }
  }

  async stop(): Promise<void> {
    await this.shutdown();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
