/**
 * What a run adds up over its attempts for the JobResult: the checkpoint figures of every
 * attempt, the restarts, and the failure behind each ended attempt with the exceptions history.
 */
import type { CheckpointStats } from '../checkpoint/coordinator.js';
import type { CheckpointDeclineCode } from '../checkpoint/decline.js';
import type { Failure } from '../failure.js';
import { FailureHistory, type ExceptionEntry } from '../observe/failure-history.js';
import type { AttemptEnd } from './attempt.js';

export class RunTally {
  checkpointsCompleted = 0;
  checkpointsFailed = 0;
  readonly checkpointsFailedByReason: Partial<Record<CheckpointDeclineCode, number>> = {};
  readonly checkpoints: CheckpointStats[] = [];
  restarts = 0;
  readonly failures: Failure[] = [];
  readonly history = new FailureHistory();

  /** An attempt ended: its checkpoints join the run's. */
  attemptEnded(end: AttemptEnd): void {
    this.checkpointsCompleted += end.checkpointsCompleted;
    this.checkpointsFailed += end.checkpointsFailed;
    for (const [code, n] of Object.entries(end.checkpointsFailedByReason) as [CheckpointDeclineCode, number][])
      this.checkpointsFailedByReason[code] = (this.checkpointsFailedByReason[code] ?? 0) + n;
    this.checkpoints.push(...end.checkpoints);
  }

  /** A failure ended attempt number `attempt` (the first is 1): its history entry and the line that reports it. */
  failed(f: Failure, attempt: number, now: number): { entry: ExceptionEntry; line: string } {
    this.failures.push(f);
    const line = this.history.add(f, attempt, now);
    return { entry: this.history.entries[this.history.entries.length - 1]!, line };
  }
}
