/**
 * The dashboard's HTTP server: the static page (ui/) and its libraries from node_modules, the
 * REST API (views.ts), Prometheus `/metrics`, queryable state, and savepoint / stop through the
 * control handlers. It serves a live job (a JobRecord) or a finished one's archive.
 *
 * Loopback only, and no login: it binds a loopback address and nothing else, answers only
 * requests whose Host header names a loopback host (a page on another site that re-points its
 * DNS name at 127.0.0.1 still sends its own name: DNS rebinding), and takes savepoint and stop
 * only with the job's control token (the one in `_control.json`, readable by its owner only).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ControlHandlers } from '../control/control-server.js';
import { EddyError } from '../failure.js';
import type { JobRecord } from './job-record.js';
import { createRegistry } from './prometheus.js';
import { vertexBackPressure, vertexWatermarks, type JobViews } from './views.js';

export interface DashboardOptions {
  port: number;
  host?: string;
  /** A running job ... */
  record?: JobRecord;
  /** ... or a finished job's archive. */
  archive?: JobViews;
  /** The job's control endpoint: savepoint and stop, with its token. */
  control?: { token: string; handlers: ControlHandlers };
}

export interface Dashboard {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

const LOOPBACK_BINDS = new Set(['127.0.0.1', 'localhost', '::1']);
const MAX_BODY_BYTES = 64 * 1024;

/** True for a Host header naming this machine's loopback interface (port ignored). */
export function isLoopbackHost(hostHeader: string | undefined): boolean {
  if (!hostHeader) return false;
  let name = hostHeader.toLowerCase();
  if (name.startsWith('[')) name = name.slice(1, name.indexOf(']'));
  else name = name.replace(/:\d+$/, '');
  return name === 'localhost' || name === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name);
}

/** The static page's folder: next to this module in the sources, or in the sources beside dist/. */
function uiDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, 'ui'), join(here, '..', '..', '..', 'core', 'observe', 'ui')];
  return candidates.find((d) => existsSync(join(d, 'index.html'))) ?? candidates[0];
}

function vendorFiles(): Record<string, { file: string; type: string }> {
  const require = createRequire(import.meta.url);
  const uplot = dirname(require.resolve('uplot'));
  const dagre = dirname(require.resolve('@dagrejs/dagre'));
  return {
    '/vendor/uPlot.iife.min.js': { file: join(uplot, 'uPlot.iife.min.js'), type: 'text/javascript' },
    '/vendor/uPlot.min.css': { file: join(uplot, 'uPlot.min.css'), type: 'text/css' },
    '/vendor/dagre.min.js': { file: join(dagre, 'dagre.min.js'), type: 'text/javascript' },
  };
}

const STATIC_TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css' };

/** Equal-time comparison of a presented token with the job's. */
function tokenMatches(presented: string | undefined, token: string): boolean {
  if (!presented) return false;
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(token).digest();
  return timingSafeEqual(a, b);
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export async function startDashboard(o: DashboardOptions): Promise<Dashboard> {
  const host = o.host ?? '127.0.0.1';
  if (!LOOPBACK_BINDS.has(host)) {
    throw new EddyError('BAD_ARG', `--web-ui-host ${host} is not a loopback address: the dashboard has no login and binds 127.0.0.1, ::1 or localhost only (reach it from elsewhere through an SSH tunnel)`);
  }
  if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) throw new EddyError('BAD_ARG', `--web-ui ${o.port} is not a port (0-65535; 0 picks a free one)`);
  const record = o.record;
  record?.startSampling();
  const registry = record ? createRegistry(record) : undefined;
  const views = (): JobViews => (record ? record.views() : o.archive!);
  const ui = uiDir();
  const vendor = vendorFiles();

  const sendJson = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(JSON.stringify(body, (_k, v: unknown) => (v instanceof Map ? [...v.values()] : v)));
  };
  const sendFile = async (res: ServerResponse, file: string, type: string) => {
    const body = await readFile(file);
    res.writeHead(200, { 'content-type': type, 'cache-control': 'no-cache' });
    res.end(body);
  };
  const readBody = (req: IncomingMessage): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => {
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

  const mutate = async (req: IncomingMessage, action: (h: ControlHandlers, body: Record<string, unknown>) => Promise<unknown>) => {
    if (req.method !== 'POST') throw new HttpError(405, 'use POST');
    if (!o.control) throw new HttpError(409, 'this job has no control endpoint (it runs without checkpoints, or has finished)');
    const auth = req.headers.authorization;
    const presented = (req.headers['x-eddy-token'] as string | undefined) ?? (auth?.startsWith('Bearer ') ? auth.slice(7) : undefined);
    if (!tokenMatches(presented, o.control.token)) throw new HttpError(403, "missing or wrong token: send the job's control token (in <checkpoint dir>/_control.json) as X-Eddy-Token");
    return action(o.control.handlers, await readBody(req));
  };

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    if (path === '/' || path === '/index.html') return sendFile(res, join(ui, 'index.html'), STATIC_TYPES['.html']);
    const asset = /^\/ui\/([a-z-]+\.(js|css))$/.exec(path);
    if (asset) return sendFile(res, join(ui, asset[1]), STATIC_TYPES[`.${asset[2]}`]);
    if (vendor[path]) return sendFile(res, vendor[path].file, vendor[path].type);
    if (path === '/metrics') {
      if (!registry) throw new HttpError(404, 'a finished job has no live metrics');
      res.writeHead(200, { 'content-type': registry.contentType });
      res.end(await registry.metrics());
      return;
    }
    const v = views();
    if (path === '/overview') return sendJson(res, 200, v.overview);
    if (path === '/jobs/overview') return sendJson(res, 200, v.jobsOverview);
    const m = /^\/jobs\/([0-9a-f]+)(\/.*)?$/.exec(path);
    if (!m) throw new HttpError(404, `no such path: ${path}`);
    if (m[1] !== v.jid) throw new HttpError(404, `no job ${m[1]} (this dashboard serves job ${v.jid})`);
    const rest = m[2] ?? '';
    if (rest === '' || rest === '/') return sendJson(res, 200, v.job);
    if (rest === '/checkpoints') return sendJson(res, 200, v.checkpoints);
    if (rest === '/exceptions') return sendJson(res, 200, v.exceptions);
    if (rest === '/series') return sendJson(res, 200, v.series);
    const vertex = /^\/vertices\/(\d+)(\/watermarks|\/backpressure)?$/.exec(rest);
    if (vertex) {
      const vv = v.vertices[vertex[1]];
      if (!vv) throw new HttpError(404, `no vertex ${vertex[1]}`);
      if (vertex[2] === '/watermarks') return sendJson(res, 200, vertexWatermarks(vv));
      if (vertex[2] === '/backpressure') return sendJson(res, 200, vertexBackPressure(vv));
      return sendJson(res, 200, vv);
    }
    const state = /^\/state\/([^/]+)\/([^/]+)$/.exec(rest);
    if (state) {
      if (!record) throw new HttpError(409, 'the job has finished: its state is in its last checkpoint');
      const raw = url.searchParams.get('key');
      const json = url.searchParams.get('keyJson');
      if (raw === null && json === null) throw new HttpError(400, 'give the key as ?key=TEXT (a string key) or ?keyJson=JSON (a number or composite key)');
      let key: unknown = raw;
      if (json !== null) {
        try {
          key = JSON.parse(json);
        } catch {
          throw new HttpError(400, `keyJson is not JSON: ${json}`);
        }
      }
      const uid = decodeURIComponent(state[1]);
      const name = decodeURIComponent(state[2]);
      try {
        const r = await record.queryState(uid, name, key);
        return sendJson(res, r.found ? 200 : 404, { operator: uid, state: name, key, found: r.found, ...(r.found ? { value: r.value } : {}) });
      } catch (err) {
        throw new HttpError(409, err instanceof Error ? err.message : String(err));
      }
    }
    if (rest === '/savepoints') {
      const r = await mutate(req, (h, body) => h.savepoint(typeof body.target === 'string' ? body.target : undefined));
      return sendJson(res, 200, r);
    }
    if (rest === '/stop') {
      const r = await mutate(req, (h, body) => h.stop(body.withSavepoint === true, typeof body.target === 'string' ? body.target : undefined));
      return sendJson(res, 200, r);
    }
    throw new HttpError(404, `no such path: ${path}`);
  };

  const server = createServer((req, res) => {
    if (!isLoopbackHost(req.headers.host)) {
      res.writeHead(403, { 'content-type': 'text/plain' });
      res.end('forbidden: the dashboard answers only requests addressed to a loopback host name\n');
      return;
    }
    route(req, res).catch((err: unknown) => {
      const status = err instanceof HttpError ? err.status : err instanceof EddyError ? 409 : 500;
      const message = err instanceof Error ? err.message : String(err);
      if (!res.headersSent) sendJson(res, status, { errors: [message] });
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(new EddyError('BAD_ARG', `the dashboard cannot listen on ${host}:${o.port}: ${err.code === 'EADDRINUSE' ? 'the port is in use; pick another or 0 for a free one' : err.message}`)),
    );
    server.listen(o.port, host, () => resolve());
  });
  // Serving a live job, the server never keeps the process alive on its own: the job does.
  if (record) server.unref();
  const addr = server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : o.port;
  const shownHost = host === '::1' ? '[::1]' : host;
  return {
    url: `http://${shownHost}:${port}/`,
    port,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
