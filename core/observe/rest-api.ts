/**
 * The dashboard's REST API, on Flink's paths: the job's views (views.ts), one key of a keyed
 * state of the running job (queryable state), and savepoint / stop through the job's control
 * handlers, which only a request carrying the job's control token reaches.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ControlHandlers } from '../control/control-server.js';
import { HttpError, readJsonBody, sendJson, tokenMatches } from './http.js';
import type { JobRecord } from './job-record.js';
import { vertexBackPressure, vertexWatermarks, type JobViews } from './views.js';
import { messageOf } from '../failure.js';

/** What the API serves: a running job (its record) or a finished one's archive. */
export interface JobApi {
  views(): JobViews;
  /** The running job; undefined for an archive. */
  record: JobRecord | undefined;
  /** The job's control endpoint: savepoint and stop, with its token. */
  control: { token: string; handlers: ControlHandlers } | undefined;
}

/** Answers a request for `url` (already not a static file or /metrics); a 404 HttpError for any other path. */
export async function answerJobApi(api: JobApi, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const path = url.pathname;
  const v = api.views();
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
  if (state) return answerStateQuery(api.record, res, url, state[1], state[2]);
  if (rest === '/savepoints') {
    const r = await mutate(api, req, (h, body) => h.savepoint(typeof body.target === 'string' ? body.target : undefined));
    return sendJson(res, 200, r);
  }
  if (rest === '/stop') {
    const r = await mutate(api, req, (h, body) =>
      h.stop(body.withSavepoint === true, typeof body.target === 'string' ? body.target : undefined),
    );
    return sendJson(res, 200, r);
  }
  throw new HttpError(404, `no such path: ${path}`);
}

/** One key of state `encodedName` of operator `encodedUid` (both as in the path), given as ?key=TEXT or ?keyJson=JSON. */
async function answerStateQuery(
  record: JobRecord | undefined,
  res: ServerResponse,
  url: URL,
  encodedUid: string,
  encodedName: string,
): Promise<void> {
  if (!record) throw new HttpError(409, 'the job has finished: its state is in its last checkpoint');
  const raw = url.searchParams.get('key');
  const json = url.searchParams.get('keyJson');
  if (raw === null && json === null)
    throw new HttpError(400, 'give the key as ?key=TEXT (a string key) or ?keyJson=JSON (a number or composite key)');
  let key: unknown = raw;
  if (json !== null) {
    try {
      key = JSON.parse(json);
    } catch {
      throw new HttpError(400, `keyJson is not JSON: ${json}`);
    }
  }
  const uid = decodeURIComponent(encodedUid);
  const name = decodeURIComponent(encodedName);
  try {
    const r = await record.queryState(uid, name, key);
    return sendJson(res, r.found ? 200 : 404, { operator: uid, state: name, key, found: r.found, ...(r.found ? { value: r.value } : {}) });
  } catch (err) {
    throw new HttpError(409, messageOf(err));
  }
}

/** A POST that acts on the job, with the job's control token (X-Eddy-Token or a Bearer header). */
async function mutate(
  api: JobApi,
  req: IncomingMessage,
  action: (h: ControlHandlers, body: Record<string, unknown>) => Promise<unknown>,
): Promise<unknown> {
  if (req.method !== 'POST') throw new HttpError(405, 'use POST');
  if (!api.control) throw new HttpError(409, 'this job has no control endpoint (it runs without checkpoints, or has finished)');
  const auth = req.headers.authorization;
  const presented = (req.headers['x-eddy-token'] as string | undefined) ?? (auth?.startsWith('Bearer ') ? auth.slice(7) : undefined);
  if (!tokenMatches(presented, api.control.token))
    throw new HttpError(403, "missing or wrong token: send the job's control token (in <checkpoint dir>/_control.json) as X-Eddy-Token");
  return action(api.control.handlers, await readJsonBody(req));
}
