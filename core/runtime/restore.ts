/**
 * What a run starts from: `--from-savepoint PATH`, `--resume latest|N`, or nothing. The
 * restore point is opened and verified (every file against its checksum) before any thread
 * starts, and matched against the job by operator uid: state of an operator the job no longer
 * has is refused, unless the user says to drop it (`--allow-non-restored-state`), as in Flink.
 */
import type { CheckpointMetadata } from '../checkpoint/metadata.js';
import { openSavepoint, resumePoint, type RestorePoint } from '../checkpoint/restore-point.js';
import { EddyError } from '../failure.js';
import { planInFlightRestore } from './in-flight-rescale.js';
import type { JobPlan } from './job-plan.js';
import type { RestoreSpec } from './messages.js';
import type { RunOptions } from './options.js';

/**
 * What the tasks restore from checkpoint `id` in `root`: its operators (those the job has, by
 * uid) and its in-flight data, planned edge by edge for the job as it runs now: re-dealt
 * where the parallelism changed, refused (saying to take a savepoint) where that cannot be
 * right (see in-flight-rescale.ts).
 */
export function restoreSpecOf(root: string, id: number, m: CheckpointMetadata, plan: JobPlan, uids?: Set<string>): RestoreSpec {
  const operators = uids ? m.operators.filter((op) => uids.has(op.uid)) : m.operators;
  const channels = m.channels ?? [];
  if (channels.length === 0) return { checkpointDir: root, checkpointId: id, operators };
  const channelEdges = planInFlightRestore(`checkpoint ${id} in ${root}`, channels, plan.jobGraph);
  return { checkpointDir: root, checkpointId: id, operators, channels, ...(channelEdges ? { channelEdges } : {}) };
}

export async function initialRestore(plan: JobPlan, o: RunOptions, warn: (m: string) => void): Promise<RestoreSpec | undefined> {
  let rp: RestorePoint | undefined;
  let what: string;
  if (o.fromSavepoint !== undefined) {
    rp = await openSavepoint(o.fromSavepoint);
    what = `savepoint ${rp.path}`;
  } else if (o.resume !== undefined) {
    if (o.checkpointDir === undefined) {
      throw new EddyError('BAD_FLAG', '--resume needs --checkpoint-dir DIR: the directory the earlier run checkpointed to');
    }
    rp = await resumePoint(o.checkpointDir, o.resume, { fallback: o.fallbackToOlder, warn });
    if (!rp) {
      warn(`no complete checkpoint in ${o.checkpointDir}: starting from the beginning`);
      return undefined;
    }
    what = `checkpoint ${rp.id} in ${rp.root}`;
  } else {
    if (o.allowNonRestoredState) throw new EddyError('BAD_FLAG', '--allow-non-restored-state needs --from-savepoint or --resume');
    if (o.fallbackToOlder) throw new EddyError('BAD_FLAG', '--fallback-to-older needs --resume latest');
    return undefined;
  }
  const m = rp.metadata;
  if (m.maxParallelism !== plan.settings.maxParallelism) {
    throw new EddyError(
      'STATE_NOT_RESTORED',
      `${what} was taken with max parallelism ${m.maxParallelism} (its number of key groups), the job runs with ${plan.settings.maxParallelism}; run with --max-parallelism ${m.maxParallelism}`,
    );
  }
  const uids = new Set(plan.graph.nodes.map((n) => n.uid).filter((u): u is string => u !== undefined));
  const orphans = m.operators.filter((op) => !uids.has(op.uid)).map((op) => op.uid);
  if (orphans.length > 0) {
    const list = orphans.map((u) => `'${u}'`).join(', ');
    if (!o.allowNonRestoredState) {
      throw new EddyError(
        'STATE_NOT_RESTORED',
        `${what} holds state of operator${orphans.length > 1 ? 's' : ''} ${list} that the job does not have (no operator with that uid); ` +
          'restore the uid, or pass --allow-non-restored-state to drop that state',
      );
    }
    warn(`dropping the state of ${list} from ${what}: the job has no operator with that uid (--allow-non-restored-state)`);
  }
  return restoreSpecOf(rp.root, rp.id, m, plan, uids);
}
