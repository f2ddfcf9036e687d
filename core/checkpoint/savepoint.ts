/**
 * Savepoints: a completed checkpoint copied out to a directory the user owns.
 *
 *   <target>/savepoint-<id>-<time>/_metadata          kind 'savepoint', handles relative to
 *                                                     this directory
 *   <target>/savepoint-<id>-<time>/<state files>       the checkpoint's state, verified while copied:
 *                                                     a file per piece (no offsets), whether the
 *                                                     checkpoint had task files or not
 *
 * A savepoint is self-contained (it refers to nothing outside its directory), full, and in the
 * canonical per-key-group format, so any backend restores it at any parallelism; nothing in
 * eddy ever deletes it. Like a checkpoint, it exists only once its `_metadata` is written, last.
 */
import { join, resolve } from 'node:path';
import { EddyError, messageOf } from '../failure.js';
import { mkdirDurable, syncDir, writeAndSync } from './fs-durable.js';
import { mapStateFiles, type CheckpointMetadata } from './metadata.js';
import { CheckpointStorage, writeMetadataFile } from './storage.js';

/** Where savepoints go when the user names no target: next to the checkpoints. */
export function defaultSavepointRoot(checkpointDir: string): string {
  return join(checkpointDir, 'savepoints');
}

/** `savepoint-12-20261121T101502Z`: sorts by id, says when. */
function savepointName(id: number, timestamp: number): string {
  const t = new Date(timestamp)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `savepoint-${id}-${t}`;
}

/**
 * Copies checkpoint `metadata.id` of `storage` into a new savepoint directory under `targetRoot`
 * and returns its path. Every file is checked against its checksum on the way, so a savepoint
 * never inherits a damaged file.
 */
export async function writeSavepoint(storage: CheckpointStorage, metadata: CheckpointMetadata, targetRoot: string): Promise<string> {
  const dir = join(resolve(targetRoot), savepointName(metadata.id, metadata.timestamp));
  await mkdirDurable(dir);
  const copies: Promise<void>[] = [];
  const copied = mapStateFiles(metadata, (h) => {
    // chk-7/count-0-keyed.bin → chk-7-count-0-keyed.bin: unique even when a handle (a delta
    // chain) spans several checkpoints' directories. A piece of a task file becomes a file of
    // its own (chk-7/2-count-0.bin at 512 → chk-7-2-count-0.bin-at-512), so the savepoint
    // holds only what it refers to.
    const name = h.file.replace(/[/\\]/g, '-') + (h.offset === undefined ? '' : `-at-${h.offset}`);
    copies.push(
      storage.readStateFile(h).then(async (data) => {
        // The bytes were verified against h.checksum; the copy's checksum is the same.
        await writeAndSync(join(dir, name), data, 'wx');
      }),
    );
    return { file: name, bytes: h.bytes, checksum: h.checksum };
  });
  try {
    await Promise.all(copies);
    await syncDir(dir);
  } catch (err) {
    throw new EddyError('CHECKPOINT_FAILED', `writing savepoint ${dir} failed: ${messageOf(err)}`);
  }
  await writeMetadataFile(dir, { ...copied, kind: 'savepoint' });
  return dir;
}
