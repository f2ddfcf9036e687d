/**
 * What an attempt tells whoever watches the job (the dashboard's record, job-record.ts):
 * plain notifications, never on the record path, all optional to act on.
 */
import type { CheckpointPhases, CheckpointStats, SnapshotKind, SubtaskAck } from '../checkpoint/coordinator.js';
import type { ObservedDeployment } from './observed-job.js';

/** Reads one key's value of a keyed state of the running attempt (queryable state). */
export type StateQuery = (uid: string, name: string, key: unknown) => Promise<{ found: boolean; value?: unknown }>;

export interface JobEvents {
  /** An attempt deployed its tasks (fresh rings and counters) and can answer state queries. */
  attemptStarted(attempt: number, deployment: ObservedDeployment, query: StateQuery): void;
  /** The attempt ended; its queries are no longer answered. */
  attemptEnded(attempt: number): void;
  checkpointTriggered(id: number, timestamp: number, kind: SnapshotKind): void;
  /** Task `task` (index into the deployment's tasks) acknowledged checkpoint `id`. */
  taskAcknowledged(id: number, task: number, phases: CheckpointPhases, acks: SubtaskAck[]): void;
  checkpointCompleted(stats: CheckpointStats): void;
  checkpointFailed(id: number, reason: string): void;
}
