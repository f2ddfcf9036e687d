/**
 * The folders a run works in: its checkpoint directory (the one given by --checkpoint-dir, or
 * a temporary one of its own) and the folder the LMDB environments live in while it runs; and,
 * when the run ends, what of them stays.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultSavepointRoot } from '../checkpoint/savepoint.js';
import { CheckpointStorage } from '../checkpoint/storage.js';
import { ensureDirectory } from './directories.js';
import type { JobPlan } from './job-plan.js';
import type { RunOptions } from './options.js';
import { messageOf } from '../failure.js';

export interface RunFolders {
  /** Where checkpoints go; undefined when the run does not checkpoint. */
  checkpointDir: string | undefined;
  /** The checkpoint directory is a temporary one of this run's (no --checkpoint-dir). */
  ownDir: boolean;
  /** LMDB environments live here while the job runs; undefined for the heap backend. */
  localDir: string | undefined;
}

/** Makes (or checks) the run's folders, before any thread starts. */
export function openRunFolders(plan: JobPlan, overrides: RunOptions): RunFolders {
  const checkpointing = plan.settings.mode !== 'none';
  const ownDir = checkpointing && overrides.checkpointDir === undefined;
  const checkpointDir = checkpointing
    ? overrides.checkpointDir !== undefined
      ? ensureDirectory(overrides.checkpointDir, '--checkpoint-dir')
      : mkdtempSync(join(tmpdir(), 'eddy-checkpoints-'))
    : undefined;
  const localDir =
    plan.settings.stateBackend === 'lmdb'
      ? mkdtempSync(join(overrides.localDir !== undefined ? ensureDirectory(overrides.localDir, '--local-dir') : tmpdir(), 'eddy-local-'))
      : undefined;
  return { checkpointDir, ownDir, localDir };
}

/**
 * The run ended (`finished`: ran out of input without failure or cancellation). The local
 * folder goes. A temporary checkpoint directory stays only when it holds something to resume
 * from: a savepoint, or a checkpoint of a job that did not finish. A failed or cancelled job
 * that completed no checkpoint leaves nothing worth keeping. Where the checkpoint directory
 * stays, `archive` writes the job's record into it (for `eddy ui`).
 */
export async function closeRunFolders(
  f: RunFolders,
  finished: boolean,
  archive: (dir: string) => Promise<void>,
  warn: (message: string) => void,
): Promise<void> {
  const { checkpointDir, ownDir, localDir } = f;
  const removeDir =
    ownDir &&
    checkpointDir !== undefined &&
    !existsSync(defaultSavepointRoot(checkpointDir)) &&
    (finished || !(await holdsCheckpoint(checkpointDir)));
  if (checkpointDir && !removeDir) {
    await archive(checkpointDir).catch((err) => warn(`could not write the job record into ${checkpointDir}: ${messageOf(err)}`));
  }
  if (ownDir && checkpointDir) {
    if (removeDir) rmSync(checkpointDir, { recursive: true, force: true });
    else warn(`checkpoints retained in ${checkpointDir} (resume with --checkpoint-dir ${checkpointDir} --resume latest)`);
  }
  if (localDir) rmSync(localDir, { recursive: true, force: true });
}

/** Whether `dir` holds a completed checkpoint; an unreadable one counts (the user decides). */
async function holdsCheckpoint(dir: string): Promise<boolean> {
  try {
    return (await new CheckpointStorage(dir).latest()) !== undefined;
  } catch {
    return true;
  }
}
