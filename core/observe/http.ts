/**
 * The small HTTP pieces the dashboard's server is built of: an error that carries its status,
 * JSON and file replies, a request body read as JSON within a size bound, the loopback Host
 * check and the equal-time token comparison.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';

const MAX_BODY_BYTES = 64 * 1024;

/** A request the server refuses, with the status to answer. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body, (_k, v: unknown) => (v instanceof Map ? [...v.values()] : v)));
}

export async function sendFile(res: ServerResponse, file: string, type: string): Promise<void> {
  const body = await readFile(file);
  res.writeHead(200, { 'content-type': type, 'cache-control': 'no-cache' });
  res.end(body);
}

/** The request's body as a JSON object ({} when empty); 413 past MAX_BODY_BYTES, 400 when not JSON. */
export function readJsonBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => {
      text += c;
      if (text.length > MAX_BODY_BYTES) reject(new HttpError(413, 'request body too large'));
    });
    req.on('end', () => {
      try {
        resolve(text.trim() === '' ? {} : (JSON.parse(text) as Record<string, unknown>));
      } catch {
        reject(new HttpError(400, 'the request body is not JSON'));
      }
    });
    req.on('error', reject);
  });
}

/** True for a Host header naming this machine's loopback interface (port ignored). */
export function isLoopbackHost(hostHeader: string | undefined): boolean {
  if (!hostHeader) return false;
  let name = hostHeader.toLowerCase();
  if (name.startsWith('[')) name = name.slice(1, name.indexOf(']'));
  else name = name.replace(/:\d+$/, '');
  return name === 'localhost' || name === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name);
}

/** Equal-time comparison of a presented token with the job's. */
export function tokenMatches(presented: string | undefined, token: string): boolean {
  if (!presented) return false;
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(token).digest();
  return timingSafeEqual(a, b);
}
