/**
 * What `eddy checkpoints DIR` shows: every checkpoint and savepoint in a directory, with its
 * size per operator and whether it is complete and intact (every file read back and checked
 * against its checksum). DIR may be a checkpoint directory (chk-N/ folders, and savepoints
 * under savepoints/), a directory of savepoints, or one savepoint.
 */
import { readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { EddyError } from '../failure.js';
import { errnoCode, pathExists } from './fs-durable.js';
import { referencedFiles, type CheckpointMetadata } from './metadata.js';
import { openSavepoint, verifyRestorePoint } from './restore-point.js';
import { defaultSavepointRoot } from './savepoint.js';
import { CheckpointStorage, METADATA } from './storage.js';

export interface SnapshotInfo {
  kind: 'checkpoint' | 'savepoint';
  id: number | undefined;
  path: string;
  status: 'intact' | 'incomplete' | 'corrupt';
  /** Why it is corrupt or incomplete. */
  problem?: string;
  timestamp?: number;
  durationMs?: number;
  bytes: number;
  /** The barrier overtook in-flight data (an unaligned checkpoint). */
  unaligned?: boolean;
  /** Bytes of in-flight data stored with it (0 when aligned, or nothing was in flight). */
  inFlightBytes?: number;
  /** The final checkpoint of a bounded job: its operators had finished, it holds no keyed state. */
  finished?: boolean;
  operators: { uid: string; parallelism: number; bytes: number }[];
}

function describe(kind: SnapshotInfo['kind'], path: string, m: CheckpointMetadata): SnapshotInfo {
  const operators = m.operators.map((op) => ({
    uid: op.uid,
    parallelism: op.parallelism,
    bytes: op.subtasks.reduce((n, st) => n + (st.keyed?.file.bytes ?? 0) + (st.operator?.bytes ?? 0), 0),
  }));
  return {
    kind,
    id: m.id,
    path,
    status: 'intact',
    timestamp: m.timestamp,
    durationMs: m.durationMs,
    bytes: referencedFiles(m).reduce((n, h) => n + h.bytes, 0),
    unaligned: m.unaligned === true,
    finished: m.finished === true,
    inFlightBytes: (m.channels ?? []).reduce((n, c) => n + c.bytes, 0),
    operators,
  };
}

async function isDir(p: string): Promise<boolean> {
  return stat(p).then(
    (s) => s.isDirectory(),
    () => false,
  );
}

async function savepointsIn(root: string): Promise<SnapshotInfo[]> {
  let names: string[];
  try {
    names = (await readdir(root, { withFileTypes: true }))
      .filter((d) => d.isDirectory())
      .map((d) => d.name)
      .sort();
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return [];
    throw err;
  }
  const out: SnapshotInfo[] = [];
  for (const n of names) if (n.startsWith('savepoint-')) out.push(await inspectSavepoint(join(root, n)));
  return out.sort((a, b) => (a.id ?? -1) - (b.id ?? -1));
}

async function inspectSavepoint(path: string): Promise<SnapshotInfo> {
  try {
    const rp = await openSavepoint(path);
    return describe('savepoint', path, rp.metadata);
  } catch (err) {
    if (!(err instanceof EddyError)) throw err;
    const missing = !(await pathExists(join(path, METADATA)));
    return {
      kind: 'savepoint',
      id: undefined,
      path,
      status: missing ? 'incomplete' : 'corrupt',
      problem: err.message,
      bytes: 0,
      operators: [],
    };
  }
}

export async function inspectCheckpoints(dirArg: string): Promise<SnapshotInfo[]> {
  const dir = resolve(dirArg);
  if (!(await isDir(dir)))
    throw new EddyError('SAVEPOINT_NOT_FOUND', `${dir} is not a directory; give a checkpoint directory or a savepoint`);
  if (await pathExists(join(dir, METADATA))) return [await inspectSavepoint(dir)];
  const storage = new CheckpointStorage(dir);
  const out: SnapshotInfo[] = [];
  let recorded: number | undefined;
  try {
    recorded = await storage.recordedLatest();
  } catch {
    recorded = undefined;
  }
  const entries = await storage.scan();
  if (recorded !== undefined && !entries.some((e) => e.id === recorded)) {
    const path = storage.checkpointDir(recorded);
    out.push({
      kind: 'checkpoint',
      id: recorded,
      path,
      status: 'corrupt',
      problem: `${path} is missing, but ${join(dir, '_latest')} records it as completed`,
      bytes: 0,
      operators: [],
    });
  }
  for (const e of entries.reverse()) {
    const path = storage.checkpointDir(e.id);
    if (e.status === 'incomplete') {
      const problem =
        recorded === e.id
          ? `its ${METADATA} is missing, but ${join(dir, '_latest')} records it as completed`
          : `no ${METADATA} (in progress, or interrupted)`;
      out.push({
        kind: 'checkpoint',
        id: e.id,
        path,
        status: recorded === e.id ? 'corrupt' : 'incomplete',
        problem,
        bytes: 0,
        operators: [],
      });
    } else if (e.status === 'corrupt') {
      out.push({ kind: 'checkpoint', id: e.id, path, status: 'corrupt', problem: e.error.message, bytes: 0, operators: [] });
    } else {
      const info = describe('checkpoint', path, e.metadata);
      try {
        await verifyRestorePoint({ root: dir, path, id: e.id, metadata: e.metadata });
      } catch (err) {
        if (!(err instanceof EddyError)) throw err;
        info.status = 'corrupt';
        info.problem = err.message;
      }
      out.push(info);
    }
  }
  out.push(...(await savepointsIn(defaultSavepointRoot(dir))), ...(await savepointsIn(dir)));
  return out;
}
