/**
 * The CLI's end of the control endpoint: find the running job by its checkpoint directory,
 * send one request, wait for the answer. Every way this can fail names the directory and what
 * to do: no job ever ran there, the job that did is gone (killed: its control file is stale),
 * or it did not answer.
 */
import { readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join, resolve } from 'node:path';
import { EddyError } from '../failure.js';
import { errnoCode } from '../checkpoint/fs-durable.js';
import { CONTROL_FILE, type ControlInfo, type ControlRequest, type ControlResponse } from './protocol.js';

type Request = ControlRequest extends infer R ? (R extends unknown ? Omit<R, 'token'> : never) : never;

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errnoCode(err) === 'EPERM';
  }
}

export async function readControlInfo(dir: string): Promise<ControlInfo> {
  const file = join(resolve(dir), CONTROL_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new EddyError(
        'JOB_NOT_RUNNING',
        `no running job checkpoints to ${resolve(dir)} (${file} does not exist); give the --checkpoint-dir of a running job`,
      );
    }
    throw new EddyError('JOB_NOT_RUNNING', `cannot read ${file}: ${(err as Error).message}`);
  }
  let info: ControlInfo;
  try {
    info = JSON.parse(text) as ControlInfo;
  } catch {
    throw new EddyError('JOB_NOT_RUNNING', `${file} is not a control file written by eddy (not JSON)`);
  }
  if (typeof info.port !== 'number' || typeof info.token !== 'string' || typeof info.pid !== 'number') {
    throw new EddyError('JOB_NOT_RUNNING', `${file} is not a control file written by eddy (no port, pid or token)`);
  }
  if (!pidAlive(info.pid)) {
    throw new EddyError(
      'JOB_NOT_RUNNING',
      `the job that wrote ${file} (pid ${info.pid}) is no longer running; resume it with eddy run JOB --checkpoint-dir ${dir} --resume latest`,
    );
  }
  return info;
}

/** Sends one request to the job running in `dir`; resolves with its successful answer. */
export async function sendControl(dir: string, request: Request, timeoutMs: number): Promise<Extract<ControlResponse, { ok: true }>> {
  const info = await readControlInfo(dir);
  const line = `${JSON.stringify({ ...request, token: info.token })}\n`;
  const response = await new Promise<ControlResponse>((resolveAnswer, reject) => {
    const socket = connect({ host: '127.0.0.1', port: info.port });
    let data = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new EddyError('JOB_NOT_RUNNING', `the job (pid ${info.pid}) did not answer '${request.command}' within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(line));
    socket.on('data', (chunk: string) => (data += chunk));
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(new EddyError('JOB_NOT_RUNNING', `cannot reach the job (pid ${info.pid}) on 127.0.0.1:${info.port}: ${err.message}`));
    });
    socket.on('end', () => {
      clearTimeout(timer);
      try {
        resolveAnswer(JSON.parse(data) as ControlResponse);
      } catch {
        reject(new EddyError('JOB_NOT_RUNNING', `the job (pid ${info.pid}) closed the connection without an answer (it may be ending)`));
      }
    });
  });
  if (!response.ok) throw new EddyError(response.code, response.message);
  return response;
}
