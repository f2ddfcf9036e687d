/**
 * The dashboard's HTTP server: the static page (ui/) and its libraries from node_modules,
 * Prometheus `/metrics`, and the REST API (rest-api.ts: the views, queryable state, savepoint
 * and stop). It serves a live job (a JobRecord) or a finished one's archive.
 *
 * Loopback only, and no login: it binds a loopback address and nothing else, answers only
 * requests whose Host header names a loopback host (a page on another site that re-points its
 * DNS name at 127.0.0.1 still sends its own name: DNS rebinding), and takes savepoint and stop
 * only with the job's control token (the one in `_control.json`, readable by its owner only).
 */
import { existsSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ControlHandlers } from '../control/control-server.js';
import { EddyError, messageOf } from '../failure.js';
import { HttpError, isLoopbackHost, sendFile, sendJson } from './http.js';
import type { JobRecord } from './job-record.js';
import { createRegistry } from './prometheus.js';
import { answerJobApi, type JobApi } from './rest-api.js';
import { buildJobViews, type JobViews } from './views.js';

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

export async function startDashboard(o: DashboardOptions): Promise<Dashboard> {
  const host = o.host ?? '127.0.0.1';
  if (!LOOPBACK_BINDS.has(host)) {
    throw new EddyError(
      'BAD_ARG',
      `--web-ui-host ${host} is not a loopback address: the dashboard has no login and binds 127.0.0.1, ::1 or localhost only (reach it from elsewhere through an SSH tunnel)`,
    );
  }
  if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535)
    throw new EddyError('BAD_ARG', `--web-ui ${o.port} is not a port (0-65535; 0 picks a free one)`);
  const record = o.record;
  record?.startSampling();
  const registry = record ? createRegistry(record) : undefined;
  const api: JobApi = { views: () => (record ? buildJobViews(record) : o.archive!), record, control: o.control };
  const ui = uiDir();
  const vendor = vendorFiles();

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
    return answerJobApi(api, req, res, url);
  };

  const server = createServer((req, res) => {
    if (!isLoopbackHost(req.headers.host)) {
      res.writeHead(403, { 'content-type': 'text/plain' });
      res.end('forbidden: the dashboard answers only requests addressed to a loopback host name\n');
      return;
    }
    route(req, res).catch((err: unknown) => {
      const status = err instanceof HttpError ? err.status : err instanceof EddyError ? 409 : 500;
      const message = messageOf(err);
      if (!res.headersSent) sendJson(res, status, { errors: [message] });
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        new EddyError(
          'BAD_ARG',
          `the dashboard cannot listen on ${host}:${o.port}: ${err.code === 'EADDRINUSE' ? 'the port is in use; pick another or 0 for a free one' : err.message}`,
        ),
      ),
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
