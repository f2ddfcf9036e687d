// Throwaway redis-server and nats-server processes for tests: 127.0.0.1, a free port, a
// temporary folder, stopped (and the folder removed) by the test. A server can be killed
// (SIGKILL) and started again on the same port and folder, to show what survives a crash.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** True when `bin` is on the PATH. */
export function hasBinary(bin: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' }).status === 0;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = createConnection({ host: '127.0.0.1', port });
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}

export class TestServer {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();

  constructor(
    readonly name: string,
    readonly port: number,
    readonly dir: string,
    private readonly command: string,
    private readonly args: string[],
    /** Serving commands, not just accepting connections (e.g. redis has loaded its AOF). */
    private readonly ready?: () => Promise<boolean>,
  ) {}

  /** Starts the server and waits until it accepts connections and is ready. */
  async start(): Promise<void> {
    const ready = this.ready;
    const child = spawn(this.command, this.args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    const deadline = Date.now() + 15_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${this.name} exited at start (${child.exitCode}): ${stderr}`);
      if ((await canConnect(this.port)) && (!ready || (await ready().catch(() => false)))) return;
      if (Date.now() > deadline) throw new Error(`${this.name} did not start on port ${this.port}: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** SIGKILL: nothing flushed, as a crash. */
  async kill(): Promise<void> {
    this.child?.kill('SIGKILL');
    await this.exited;
    this.child = undefined;
  }

  async stop(): Promise<void> {
    if (this.child && this.child.exitCode === null) {
      this.child.kill('SIGTERM');
      const t = setTimeout(() => this.child?.kill('SIGKILL'), 5000);
      await this.exited;
      clearTimeout(t);
    }
    this.child = undefined;
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** redis-server with AOF and `appendfsync always`: every acknowledged write is on disk. */
export async function startRedis(): Promise<TestServer & { url: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'eddy-redis-'));
  const port = await freePort();
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'yes',
    '--appendfsync',
    'always',
    '--dir',
    dir,
    '--daemonize',
    'no',
    '--logfile',
    join(dir, 'redis.log'),
  ];
  // Until the AOF is loaded the server answers LOADING: wait for a real reply.
  const s = Object.assign(new TestServer('redis-server', port, dir, 'redis-server', args, () => redisPing(port)), {
    url: `redis://127.0.0.1:${port}`,
  });
  await s.start();
  return s;
}

/** PING over a raw socket: '+PONG' once the server serves commands. */
export function redisPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = createConnection({ host: '127.0.0.1', port });
    let data = '';
    c.once('connect', () => c.write('PING\r\n'));
    c.on('data', (d) => {
      data += d.toString();
      if (data.includes('\r\n')) {
        c.destroy();
        resolve(data.startsWith('+PONG'));
      }
    });
    c.once('error', () => resolve(false));
  });
}

/** nats-server with JetStream and its file store in a temporary folder. */
export async function startNats(): Promise<TestServer & { url: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'eddy-nats-'));
  const port = await freePort();
  const args = ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', join(dir, 'js'), '-l', join(dir, 'nats.log')];
  const s = Object.assign(new TestServer('nats-server', port, dir, 'nats-server', args), { url: `nats://127.0.0.1:${port}` });
  await s.start();
  return s;
}

/** The line a test prints when it skips for a missing server binary. */
export function missing(bin: string, pkg = bin): string {
  return `${bin} is not installed (apt-get install -y ${pkg}); skipping`;
}
