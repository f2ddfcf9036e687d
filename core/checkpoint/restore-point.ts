/**
 * Finding what a run starts from, and proving it intact before anything uses it:
 *
 *   --from-savepoint PATH    a savepoint directory (or its _metadata file, or a retained chk-N)
 *   --resume latest | N      the newest complete checkpoint in --checkpoint-dir, or checkpoint N
 *
 * Every file the restore point references is read and checked against its size and checksum
 * here, on the main thread, before any task starts: a damaged restore point is refused as a
 * whole with the file named, instead of failing one task deep into a restore. Nothing falls
 * back to an older checkpoint unless the caller asks for it (`fallback`), and then each one
 * skipped is reported.
 */
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { EddyError } from '../failure.js';
import { errnoCode } from './fs-durable.js';
import { decodeMetadata, type CheckpointMetadata, type StateFileHandle } from './metadata.js';
import { CHK_DIR, CheckpointStorage, METADATA } from './storage.js';

export interface RestorePoint {
  /** The directory that the metadata's file handles are relative to. */
  root: string;
  /** The directory holding `_metadata`. */
  path: string;
  id: number;
  metadata: CheckpointMetadata;
}

/**
 * Reads and checks every state file of a restore point; throws CHECKPOINT_CORRUPT naming the
 * first bad one and, for an operator's file, the operator and subtask it belongs to.
 */
export async function verifyRestorePoint(rp: RestorePoint): Promise<void> {
  const storage = new CheckpointStorage(rp.root);
  // One at a time: a restore point may be large, and the first problem is enough to refuse.
  for (const op of rp.metadata.operators) {
    for (const st of op.subtasks) {
      const deltas = st.keyed?.deltas ?? [];
      const files: [string, StateFileHandle | undefined][] = [
        ['keyed state', st.keyed?.file],
        ...deltas.map((d, i): [string, StateFileHandle] => [`keyed state delta ${i + 1} of ${deltas.length}`, d.file]),
        ['operator state', st.operator],
      ];
      for (const [what, h] of files) {
        if (h === undefined) continue;
        await storage.readStateFile(h).catch((err: unknown) => {
          if (!(err instanceof EddyError)) throw err;
          throw new EddyError(err.code, `${what} of operator '${op.uid}' subtask ${st.subtask}: ${err.message}`, {
            operatorUid: op.uid,
            subtask: st.subtask,
          });
        });
      }
    }
  }
  for (const c of rp.metadata.channels ?? []) await storage.readStateFile(c.file);
}

/** Opens the savepoint (or retained checkpoint) at `path` and verifies it. */
export async function openSavepoint(path: string): Promise<RestorePoint> {
  let dir = resolve(path);
  const info = await stat(dir).catch((err: unknown) => {
    if (errnoCode(err) === 'ENOENT')
      throw new EddyError('SAVEPOINT_NOT_FOUND', `savepoint ${dir} does not exist; check the path given to --from-savepoint`);
    throw new EddyError('SAVEPOINT_NOT_FOUND', `cannot read savepoint ${dir}: ${(err as Error).message}`);
  });
  if (info.isFile()) {
    if (basename(dir) !== METADATA)
      throw new EddyError('SAVEPOINT_NOT_FOUND', `${dir} is a file, not a savepoint directory (or its ${METADATA} file)`);
    dir = dirname(dir);
  }
  const metaPath = join(dir, METADATA);
  let text: string;
  try {
    text = await readFile(metaPath, 'utf8');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') {
      throw new EddyError(
        'CHECKPOINT_CORRUPT',
        `savepoint metadata ${metaPath} is missing: ${dir} is not a complete savepoint or checkpoint`,
      );
    }
    throw new EddyError('CHECKPOINT_CORRUPT', `cannot read savepoint metadata ${metaPath}: ${(err as Error).message}`);
  }
  const chk = CHK_DIR.exec(basename(dir));
  const metadata = decodeMetadata(text, metaPath, chk ? Number(chk[1]) : undefined);
  // A retained checkpoint's handles are relative to its checkpoint directory (chk-N/file).
  const root = metadata.kind === 'checkpoint' ? dirname(dir) : dir;
  const rp: RestorePoint = { root, path: dir, id: metadata.id, metadata };
  await verifyRestorePoint(rp);
  return rp;
}

export interface ResumeOptions {
  /** Skip damaged newer checkpoints instead of refusing (each skipped one is reported). */
  fallback?: boolean;
  warn?: (message: string) => void;
}

/**
 * The restore point for `--resume`: checkpoint `which` (an id) or the newest complete one, in
 * `dir`. Undefined when the directory holds no complete checkpoint at all.
 */
export async function resumePoint(dir: string, which: 'latest' | number, opts: ResumeOptions = {}): Promise<RestorePoint | undefined> {
  const storage = new CheckpointStorage(dir);
  const asPoint = (id: number, metadata: CheckpointMetadata): RestorePoint => ({
    root: storage.dir,
    path: storage.checkpointDir(id),
    id,
    metadata,
  });
  if (which !== 'latest') {
    const entry = (await storage.list()).find((e) => e.id === which);
    if (!entry) {
      throw new EddyError(
        'SAVEPOINT_NOT_FOUND',
        `checkpoint ${which} does not exist in ${storage.dir} (no ${join(storage.checkpointDir(which), METADATA)}); see eddy checkpoints ${dir}`,
      );
    }
    if (entry.status === 'corrupt') throw entry.error;
    const rp = asPoint(entry.id, entry.metadata);
    await verifyRestorePoint(rp);
    return rp;
  }
  if (!opts.fallback) {
    const latest = await storage.latest();
    if (!latest) return undefined;
    const rp = asPoint(latest.id, latest.metadata);
    await verifyRestorePoint(rp);
    return rp;
  }
  for (const e of await storage.list()) {
    if (e.status === 'corrupt') {
      opts.warn?.(`skipping checkpoint ${e.id}: ${e.error.message}`);
      continue;
    }
    const rp = asPoint(e.id, e.metadata);
    try {
      await verifyRestorePoint(rp);
      return rp;
    } catch (err) {
      if (!(err instanceof EddyError) || err.code !== 'CHECKPOINT_CORRUPT') throw err;
      opts.warn?.(`skipping checkpoint ${e.id}: ${err.message}`);
    }
  }
  return undefined;
}
