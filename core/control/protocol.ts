/**
 * How the CLI talks to a running job. The job listens on a loopback TCP port and records it,
 * with a random token, in `<checkpoint dir>/_control.json` (mode 0600, so only its owner can
 * read the token). A request is one JSON line, the answer is one JSON line:
 *
 *   → {"token": "...", "command": "savepoint", "target": "/abs/dir"}
 *   ← {"ok": true, "id": 7, "path": "/abs/dir/savepoint-7-20261121T101502Z"}
 *   ← {"ok": false, "code": "SAVEPOINT_FAILED", "message": "..."}
 *
 * A port rather than a unix socket: socket paths are limited to ~100 bytes, and checkpoint
 * directories are often deeper than that.
 */
import type { FailureCode } from '../failure.js';

export const CONTROL_FILE = '_control.json';

export interface ControlInfo {
  pid: number;
  port: number;
  token: string;
  job: string;
  startedAt: string;
}

export type ControlRequest =
  | { token: string; command: 'savepoint'; target?: string }
  | { token: string; command: 'stop'; withSavepoint: boolean; target?: string }
  | { token: string; command: 'status' };

export type ControlResponse =
  { ok: true; id?: number; path?: string; status?: JobStatus } | { ok: false; code: FailureCode; message: string };

export interface JobStatus {
  job: string;
  attempt: number;
  restarts: number;
  checkpointsCompleted: number;
}
