/**
 * The running job's end of the control endpoint (see protocol.ts): a loopback server that
 * answers savepoint / stop / status requests, and the `_control.json` file that says where it
 * is. The file is written atomically and removed when the job ends; a job killed with -9
 * leaves it behind, which the client recognises by its dead pid or refused connection.
 */
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { EddyError, messageOf } from '../failure.js';
import { mkdirDurable, replaceDurably } from '../checkpoint/fs-durable.js';
import { CONTROL_FILE, type ControlInfo, type ControlRequest, type ControlResponse, type JobStatus } from './protocol.js';

export interface ControlHandlers {
  savepoint(target: string | undefined): Promise<{ id: number; path: string }>;
  stop(withSavepoint: boolean, target: string | undefined): Promise<{ id?: number; path?: string }>;
  status(): JobStatus;
}

/** A request line longer than this is not from our client. */
const MAX_REQUEST_BYTES = 64 * 1024;

export interface ControlServer {
  readonly file: string;
  /** The token every request must carry (the dashboard's mutating endpoints take the same). */
  readonly token: string;
  close(): Promise<void>;
}

export async function startControlServer(dir: string, job: string, handlers: ControlHandlers): Promise<ControlServer> {
  const token = randomBytes(16).toString('hex');
  const sockets = new Set<Socket>();
  /** Answers being worked out; closing waits for them (a stop answers as the job ends). */
  const answering = new Set<Promise<void>>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let buffered = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      if (buffered.length > MAX_REQUEST_BYTES) return socket.destroy();
      const nl = buffered.indexOf('\n');
      if (nl < 0) return;
      socket.removeAllListeners('data');
      const p = answer(buffered.slice(0, nl)).then((r) => {
        socket.end(`${JSON.stringify(r)}\n`);
      });
      answering.add(p);
      void p.finally(() => answering.delete(p));
    });
  });
  const answer = async (line: string): Promise<ControlResponse> => {
    let req: ControlRequest;
    try {
      req = JSON.parse(line) as ControlRequest;
    } catch {
      return { ok: false, code: 'BAD_ARG', message: 'the request is not JSON' };
    }
    if (req.token !== token) return { ok: false, code: 'BAD_ARG', message: 'wrong token: read it from the control file of the job' };
    try {
      switch (req.command) {
        case 'savepoint':
          return { ok: true, ...(await handlers.savepoint(req.target)) };
        case 'stop':
          return { ok: true, ...(await handlers.stop(req.withSavepoint === true, req.target)) };
        case 'status':
          return { ok: true, status: handlers.status() };
        default:
          return { ok: false, code: 'BAD_ARG', message: `unknown command ${JSON.stringify((req as { command?: unknown }).command)}` };
      }
    } catch (err) {
      if (err instanceof EddyError) return { ok: false, code: err.code, message: err.message };
      return { ok: false, code: 'INTERNAL', message: messageOf(err) };
    }
  };
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  // Never keeps the process alive on its own: the job does.
  server.unref();
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  const info: ControlInfo = { pid: process.pid, port, token, job, startedAt: new Date().toISOString() };
  const file = join(dir, CONTROL_FILE);
  try {
    await mkdirDurable(dir);
    await replaceDurably(file, `${JSON.stringify(info, null, 2)}\n`, 0o600);
  } catch (err) {
    server.close();
    throw new EddyError('CHECKPOINT_FAILED', `cannot write the control file ${file}: ${messageOf(err)}`);
  }
  return {
    file,
    token,
    async close() {
      await rm(file, { force: true });
      await Promise.allSettled([...answering]);
      // Let the last answers flush before the sockets go.
      await new Promise((r) => setTimeout(r, 20));
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
