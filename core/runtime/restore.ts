/**
 * What a run starts from: `--from-savepoint PATH`, `--resume latest|N`, or nothing. The
 * restore point is opened and verified (every file against its checksum) before any thread
 * starts, and matched against the job by operator uid: state of an operator the job no longer
 * has is refused, unless the user says to drop it (`--allow-non-restored-state`), as in Flink.
 */
import type { CheckpointMetadata } from '../checkpoint/metadata.js';
import { openSavepoint, resumePoint, type RestorePoint } from '../checkpoint/restore-point.js';
import { EddyError } from '../failure.js';
import type { JobPlan } from './job-plan.js';
import type { RestoreSpec } from './messages.js';
import type { RunOptions } from './options.js';

/**
 * What the tasks restore from checkpoint `id` in `root`: its operators (those the job has, by
 * uid) and its in-flight data, which restores only where every task with such data is still
 * there at the same parallelism (re-partitioning stored frames is not built): otherwise this
 * refuses, saying to take a savepoint (always aligned, so it holds none).
 */
export function restoreSpecOf(root: string, id: number, m: CheckpointMetadata, plan: JobPlan, uids?: Set<string>): RestoreSpec {
  const operators = uids ? m.operators.filter((op) => uids.has(op.uid)) : m.operators;
  const channels = m.channels ?? [];
  for (const c of channels) {
    const v = plan.jobGraph.vertices.find((x) => x.id === c.vertexId && x.name === c.vertex);
    if (v === undefined || v.parallelism !== c.parallelism) {
      throw new EddyError(
        'STATE_NOT_RESTORED',
        `checkpoint ${id} in ${root} holds in-flight data of '${c.vertex}' at parallelism ${c.parallelism} (an unaligned checkpoint); ` +
          (v === undefined ? 'the job no longer has that task in that place (the graph changed)' : `the job runs it at parallelism ${v.parallelism}`) +
          `. Restore it at the same parallelism, then take a savepoint (always aligned) and rescale from that`,
      );
    }
  }
  return channels.length > 0 ? { checkpointDir: root, checkpointId: id, operators, channels } : { checkpointDir: root, checkpointId: id, operators };
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
