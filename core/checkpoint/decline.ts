/**
 * Why a checkpoint did not complete, as data (after Flink's CheckpointFailureReason): a code,
 * where it happened (operator uid, subtask) and a message for people. A decline crosses the
 * thread boundary as this plain shape, and the coordinator decides by code whether it counts
 * toward the failure limit.
 *
 * Counted, as Flink's CheckpointFailureManager counts them: a checkpoint that timed out, a
 * snapshot or a sink pre-commit that failed at a task, metadata that could not be written.
 * Not counted: declines that only follow from another checkpoint (a newer barrier overtook
 * it, a cancel-barrier from upstream reports a failure counted where it happened) and a
 * savepoint copy that failed after its checkpoint had completed.
 */

export type CheckpointDeclineCode =
  /** A barrier of a newer checkpoint arrived while this one was aligning. */
  | 'superseded'
  /** An upstream task aborted the checkpoint and sent a cancel-barrier. */
  | 'cancel-barrier'
  /** A task failed to write its snapshot (encode, file write, fsync). */
  | 'snapshot-write-failed'
  /** A sink could not seal its transaction for the checkpoint. */
  | 'sink-prepare-failed'
  /** Not every task acknowledged within the checkpoint timeout. */
  | 'timeout'
  /** The checkpoint's metadata could not be written (or the directory could not be pruned). */
  | 'metadata-write-failed'
  /** Still aligning after --aligned-checkpoint-timeout: replaced at once by an unaligned one. */
  | 'aligned-timeout'
  /** Armed at the sources ahead of its due time, but every source ended first: the final checkpoint replaces it. */
  | 'withdrawn';

/** A checkpoint that will not complete, and why. */
export interface CheckpointDecline {
  id: number;
  code: CheckpointDeclineCode;
  /** The operator (uid, or the chain's name) that declined; absent for coordinator-side reasons. */
  operatorUid?: string;
  subtask?: number;
  message: string;
}

const COUNTED: Record<CheckpointDeclineCode, boolean> = {
  superseded: false,
  'cancel-barrier': false,
  'snapshot-write-failed': true,
  'sink-prepare-failed': true,
  timeout: true,
  'metadata-write-failed': true,
  'aligned-timeout': false,
  withdrawn: false,
};

/** Declines that are part of a normal run, not news: no warning is printed for them. */
export function isRoutine(code: CheckpointDeclineCode): boolean {
  return code === 'withdrawn';
}

/** Whether a decline with this code counts toward the consecutive-failure limit. */
export function countsTowardFailureLimit(code: CheckpointDeclineCode): boolean {
  return COUNTED[code];
}

/** One line naming the checkpoint, the reason code and where it happened. */
export function describeDecline(d: CheckpointDecline): string {
  const where = d.operatorUid === undefined ? '' : ` at '${d.operatorUid}'${d.subtask === undefined ? '' : ` subtask ${d.subtask}`}`;
  return `[${d.code}]${where}: ${d.message}`;
}
