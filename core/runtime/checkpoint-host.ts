/**
 * The checkpoint coordinator of one attempt and its host: triggers go to the source tasks,
 * metadata and savepoints to checkpoint storage, completions and aborts to every task.
 */
import { TriggerCell } from '../checkpoint/armed-trigger.js';
import { BARRIER_FLAG_UNALIGNED } from '../channel/layout.js';
import { CheckpointCoordinator } from '../checkpoint/coordinator.js';
import { describeDecline, isRoutine } from '../checkpoint/decline.js';
import { checkpointTraceOn, traceGcPauses } from '../checkpoint/gc-pauses.js';
import { runQueuesOfProcess } from '../checkpoint/run-queue.js';
import { forcesAlignment } from '../graph/job-graph.js';
import { writeSavepoint } from '../checkpoint/savepoint.js';
import { CheckpointStorage } from '../checkpoint/storage.js';
import type { FileDurable } from '../checkpoint/state-file-writer.js';
import type { MessagePort } from 'node:worker_threads';
import { messageOf, type Failure } from '../failure.js';
import { wallNow } from '../channel/time-account.js';
import type { JobEvents } from '../observe/job-events.js';
import type { JobPlan } from './job-plan.js';
import type { RestoreSpec, TaskCommand } from './messages.js';

const CHECKPOINT_TIMEOUT_MS = 60_000;
const TOLERABLE_CHECKPOINT_FAILURES = 3;

export interface CheckpointHostOptions {
  plan: JobPlan;
  checkpointDir: string;
  taskCount: number;
  /** Task indexes of the source tasks (where barriers are injected). */
  sourceTasks: number[];
  restore: RestoreSpec | undefined;
  /** Complete checkpoints kept; older ones are pruned. */
  retained: number;
  command(task: number, cmd: TaskCommand): void;
  /** The gates of the source tasks, in the order of `sourceTasks` (where periodic checkpoints are armed). */
  sourceGates: SharedArrayBuffer[];
  /** True once the attempt is going down (a failed checkpoint is then no news). */
  cancelling(): boolean;
  warn(message: string): void;
  fail(failure: Failure): void;
  events: JobEvents | undefined;
}

export async function createCheckpointCoordinator(o: CheckpointHostOptions): Promise<CheckpointCoordinator> {
  traceGcPauses();
  const storage = new CheckpointStorage(o.checkpointDir);
  let pruning = Promise.resolve();
  const everyTask = (cmd: TaskCommand) => {
    for (let k = 0; k < o.taskCount; k++) o.command(k, cmd);
  };
  const cells = o.sourceGates.map((g) => new TriggerCell(g));
  // Before any trigger or abort is posted: a source never takes an armed trigger after it.
  const withdraw = () => {
    for (const c of cells) c.withdraw();
  };
  const coordinator: CheckpointCoordinator = new CheckpointCoordinator(
    {
      intervalMs: o.plan.settings.checkpointIntervalMs,
      timeoutMs: CHECKPOINT_TIMEOUT_MS,
      minPauseMs: Math.min(o.plan.settings.checkpointIntervalMs / 2, 500),
      tolerableFailures: TOLERABLE_CHECKPOINT_FAILURES,
      taskCount: o.taskCount,
      maxParallelism: o.plan.settings.maxParallelism,
      // Past every chk-N already here, complete or not (a killed run leaves incomplete ones).
      firstId: Math.max(o.restore?.checkpointId ?? 0, await storage.highestId()) + 1,
      unaligned: unalignedCheckpoints(o.plan, o.warn),
      alignedTimeoutMs: o.plan.settings.alignedCheckpointTimeoutMs,
    },
    {
      trigger: (id, timestamp, final, kind, stop, unaligned) => {
        withdraw();
        // The sources first: the event is for observers, the sources' start delay runs from `timestamp`.
        for (const k of o.sourceTasks) o.command(k, { type: 'trigger', id, timestamp, final, kind, stop, unaligned });
        o.events?.checkpointTriggered(id, Math.floor(timestamp), kind);
        // chk-N's entry made durable now, off the completion path (see commitMetadata).
        void storage.openCheckpoint(id);
      },
      arm: (id, dueAt, unaligned) => {
        for (const c of cells) c.arm(id, unaligned ? BARRIER_FLAG_UNALIGNED : 0, dueAt);
        o.events?.checkpointTriggered(id, Math.floor(dueAt), 'checkpoint');
        void storage.openCheckpoint(id);
      },
      // `_latest` after the tasks are told (see notifyComplete).
      persist: (metadata, marks) => storage.commitMetadata(metadata.id, metadata, marks, false),
      settled: () => pruning,
      persistSavepoint: (metadata, targetRoot) => writeSavepoint(storage, metadata, targetRoot),
      notifyComplete: (id, final) => {
        const last = coordinator.stats[coordinator.stats.length - 1];
        const stats = last?.id === id ? last : undefined;
        if (stats) o.events?.checkpointCompleted(stats);
        everyTask({ type: 'notify', id, final });
        const notifiedAt = wallNow();
        // Off the completion path, one at a time: `_latest` (a lagging one is harmless, see
        // commitMetadata), then pruning (nothing waits for old checkpoints to go).
        pruning = pruning
          .then(() => storage.recordLatest(id))
          .then(
            () => {
              if (stats?.completion) stats.completion.latestMs = stats.completion.completedMs + (wallNow() - notifiedAt);
            },
            (err) => o.warn(`could not record checkpoint ${id} as the latest in ${o.checkpointDir}: ${messageOf(err)}`),
          )
          .then(() => storage.prune(o.retained))
          .catch((err) => o.warn(`could not prune old checkpoints in ${o.checkpointDir}: ${messageOf(err)}`));
      },
      notifyAborted: (decline) => {
        const id = decline.id;
        const reason = describeDecline(decline);
        // Unless the job is going down anyway (or it is routine), a failed checkpoint is news the user wants.
        if (!o.cancelling() && !isRoutine(decline.code)) o.warn(`checkpoint ${id} failed: ${reason}`);
        if (!isRoutine(decline.code)) o.events?.checkpointFailed(id, reason);
        withdraw();
        everyTask({ type: 'abort', id });
        void storage.discard(id).catch(() => {});
      },
      ...(checkpointTraceOn() ? { sampleRunQueues: runQueuesOfProcess } : {}),
      failJob: (reason) => o.fail({ code: 'CHECKPOINT_FAILED', message: reason }),
    },
  );
  return coordinator;
}

/**
 * The ports of an ack's files still being written (one each, see FileDurable): each file's
 * notice goes to the coordinator as it comes. A failed write closes its port without one (the
 * task declines), and a notice for a checkpoint no longer pending is dropped there.
 */
export function forwardDurable(coordinator: CheckpointCoordinator | undefined, id: number, ports: MessagePort[]): void {
  for (const port of ports) {
    port.once('message', (n: FileDurable) => {
      port.close();
      coordinator?.onDurable(id, n);
    });
    // The task's threads keep the process alive while it writes; this port need not.
    port.unref();
  }
}

/** Whether checkpoints run unaligned (asked for, and nothing in the graph forces alignment). */
function unalignedCheckpoints(plan: JobPlan, warn: (m: string) => void): boolean {
  if (!plan.settings.unaligned) return false;
  const why = forcesAlignment(plan.jobGraph);
  if (why !== undefined) warn(`checkpoints stay aligned although --unaligned was given: ${why}`);
  return why === undefined;
}
