/**
 * What a completed checkpoint reports about itself (after Flink's checkpoint statistics): its
 * phases, each the slowest task's, the legs of its start delay, and its bytes.
 */

export type SnapshotKind = 'checkpoint' | 'savepoint';

/**
 * Where one task's part of a checkpoint went, after Flink's checkpoint statistics. The
 * checkpoint's figures are the maximum over its tasks (the slowest task is what it waits for).
 */
export interface CheckpointPhases {
  /** Trigger to the task starting its part: the trigger reaching a source, the first barrier reaching any other task. */
  startDelayMs: number;
  /** First barrier to last barrier at the task (inputs held back meanwhile); 0 at a source. */
  alignmentMs: number;
  /** The synchronous part on the record loop: operator hooks, state capture, barrier sent on. */
  syncMs: number;
  /** The asynchronous part off the loop: sinks sealed, snapshot encoded, files written and fsynced, until the ack. */
  asyncMs: number;
  /**
   * Where the asynchronous part went (what an unaligned checkpoint's tail is made of):
   * snapshot until every input's barrier was located (unaligned only), encoding and checksum
   * of the in-flight data, and the longest single state-file write (open, write, fsync,
   * rename: on the writer thread in unaligned runs, else each step waiting for the task's
   * event loop). `writeIoMs`: the longest time the writer thread itself spent on one file
   * (the rest of `writeMs` is its queue and the reply reaching the task's loop).
   */
  channelWaitMs?: number;
  encodeMs?: number;
  writeMs?: number;
  writeIoMs?: number;
  /**
   * The first leg of `startDelayMs`: trigger to the slowest source taking it. The rest of a
   * larger start delay is the barrier's way to a task downstream and that task seeing it.
   */
  sourceStartDelayMs?: number;
  /**
   * The start delay's legs at the tasks (ms after the trigger; the maximum over tasks): a source
   * waiting when the trigger came (for output space or input) back from its wait
   * (`sourceWakeMs`), or one busy then (a poll, a frame) taking it (`sourceBusyMs`); the barrier
   * out on every output of the slowest source (`sourceOutMs`); a task downstream noticing its
   * first barrier (`noticeMs`); a task still deploying (job module loading, state restoring,
   * writer thread warming up) when the trigger came, until it entered its loop (`deployingMs`);
   * GC pause of a task's thread between the trigger and its start
   * (`gcMs`, traced runs only: EDDY_CHECKPOINT_TRACE=1).
   */
  sourceWakeMs?: number;
  /**
   * Traced runs: the wait behind `sourceWakeMs` as the source's own thread saw it, from the
   * source whose wait ended last (see SourceWaitLeg).
   */
  sourceWait?: SourceWaitLeg;
  sourceBusyMs?: number;
  sourceOutMs?: number;
  noticeMs?: number;
  deployingMs?: number;
  gcMs?: number;
  /**
   * Traced runs on Linux: the slowest task's wait on a CPU run queue (runnable, not running)
   * from the trigger to its barrier out (`runQueueMs`), from the task's own sample there
   * (`runQueue`: its thread and cumulative wait) against the main thread's at the trigger.
   */
  runQueueMs?: number;
  runQueue?: { tid: number; ns: number };
  /**
   * The tail's legs at the tasks, ms after the trigger on the clock every thread shares (the
   * latest over tasks, so each is when the slowest task got there): every input's barrier
   * located (unaligned, tasks with inputs: `locatedAtMs`), operator and keyed state captured
   * and sinks sealed (`capturedAtMs`), the in-flight data encoded (`encodedAtMs`), every file
   * written at its task or handed to its writer thread (`writtenAtMs`), the ack posted
   * (`ackedAtMs`), the writer thread taking the last file (`writerTookAtMs`) and having
   * fsync'd and renamed it (`syncedAtMs`: from the writer's notice to the coordinator, so
   * possibly after the ack). `files`: state files the checkpoint wrote (each one fsync), summed over tasks.
   */
  locatedAtMs?: number;
  capturedAtMs?: number;
  encodedAtMs?: number;
  writerTookAtMs?: number;
  syncedAtMs?: number;
  writtenAtMs?: number;
  ackedAtMs?: number;
  files?: number;
}

/**
 * The wait a source came back from after the trigger (the `sourceWakeMs` leg), ms after the
 * trigger, as its own thread saw it: whether it was bounded by the trigger's due time, and of
 * its length how much the thread waited for a CPU (the OS's part) or ran (its event loop's other
 * work); the rest it slept. Traced runs (EDDY_CHECKPOINT_TRACE=1); the run-queue wait and CPU on
 * Linux only.
 */
export interface SourceWaitLeg {
  /**
   * For output space with the thread blocked, for output space through the event loop, or parked
   * for input; 'unrecorded': the source's wait accounts ended after the trigger but no recorded
   * wait did (a wait the record misses; its times are then those of its last recorded one).
   */
  kind: 'blocked' | 'async' | 'parked' | 'unrecorded';
  /**
   * Begun after the source's input ended: its last drain (the rest of its output behind a full
   * ring, end-of-stream included) or its park until the final checkpoint.
   */
  afterEnd?: true;
  /** It began this many ms after the trigger (negative: before it). */
  beganMs: number;
  /** It was set to end at the latest this many ms after the trigger: about 0 when the armed trigger bounded it. */
  boundMs: number;
  /** It ended this many ms after the trigger (the source back from it). */
  endedMs: number;
  /** Of its length: the source thread runnable but not running, and running. */
  runQueueMs?: number;
  cpuMs?: number;
  /**
   * Set when those two were read after the wait, not at its end (a trigger was due then, and the
   * read waited until the barrier was out): they cover the wait and the take, to this many ms after the trigger.
   */
  sampledToMs?: number;
  /**
   * The host's steal over the wait, summed over the machine's vCPUs, in 10 ms ticks (a wait
   * that began with the trigger armed): a vCPU held by the host delays a sleeping thread's
   * wake-up without any run-queue wait in the guest.
   */
  stealMs?: number;
  /** The source thread's major page faults over the wait (a wait that began with the trigger armed): each a sleep on disk I/O. */
  majorFaults?: number;
  /**
   * After the wait, until the same source took the trigger: its record's own reads done
   * (`readsDoneMs`), its wait accounts' last end (`wokeMs`, the source's own 'woke'), the trigger
   * taken (`tookMs`, its start delay), and the event-loop turns it took in between (`turns`, the
   * longest `longestTurnMs`): what a source does between coming back and taking the trigger.
   */
  readsDoneMs?: number;
  wokeMs?: number;
  tookMs?: number;
  turns?: number;
  longestTurnMs?: number;
}

/** The tail's legs at the tasks, in the order they happen (see CheckpointPhases). */
export const TASK_TAIL_LEGS = [
  'locatedAtMs',
  'capturedAtMs',
  'encodedAtMs',
  'writtenAtMs',
  'ackedAtMs',
  'writerTookAtMs',
  'syncedAtMs',
] as const;
export type TaskTailLeg = (typeof TASK_TAIL_LEGS)[number];

/** The coordinator's own part of the start delay (main thread). */
export interface TriggerLegs {
  /**
   * The checkpoint started this late for the coordinator's timer (0 for a savepoint or final
   * checkpoint, which are not timed). A periodic checkpoint is armed at the sources ahead of its
   * due time (CoordinatorHost.arm): then only a timer later than that lead counts.
   */
  timerLateMs: number;
  /** Trigger to every source's command posted (or the trigger armed) and its gate rung, events included; 0 when armed ahead. */
  postMs: number;
  /** GC pause of the main thread from the timer's due time to the posts (traced runs only). */
  mainGcMs?: number;
}

/**
 * The coordinator's part after the last ack (main thread), ms after the trigger: the last ack or
 * writer's durable notice taken (`ackTakenMs`, the checkpoint's `durationMs`), the state files'
 * folder fsync'd (`dirSyncedMs`), `_metadata` durable (`metadataMs`: the checkpoint exists from
 * here), chk-N's entry in the checkpoint directory durable (`rootSyncedMs`), tasks told it
 * completed (`completedMs`). Off the completion path after that: `_latest` durable (`latestMs`,
 * filled in when written), then pruning older checkpoints.
 */
export interface CompletionLegs {
  ackTakenMs: number;
  /**
   * The last task's ack taken; `durableTakenMs`: the last FileDurable the checkpoint waited
   * for (a file acknowledged while still being written). A file whose task had the writer's
   * reply before acknowledging is counted in by that ack, not by its notice: the writer marks
   * (`writerTookAtMs`, `syncedAtMs`, the latest over all files) can come after `durableTakenMs`,
   * never after both.
   */
  lastAckMs?: number;
  durableTakenMs?: number;
  dirSyncedMs?: number;
  metadataMs?: number;
  rootSyncedMs?: number;
  completedMs: number;
  latestMs?: number;
}

/** Marks the persist path leaves on its way (wall clock: timeOrigin + now); see CompletionLegs. */
export interface PersistMarks {
  dirSyncedAt?: number;
  metadataAt?: number;
  rootSyncedAt?: number;
}

export interface CheckpointStats extends CheckpointPhases {
  id: number;
  /** Trigger to the last acknowledgement (the _metadata write after it is not included). */
  durationMs: number;
  /** State bytes written by all tasks. */
  bytes: number;
  final: boolean;
  kind: SnapshotKind;
  /** The barrier overtook in-flight data (which the checkpoint then holds). */
  unaligned: boolean;
  /** Bytes of in-flight data stored with the checkpoint (0 when aligned). */
  inFlightBytes: number;
  legs?: TriggerLegs;
  completion?: CompletionLegs;
}

/**
 * Folds one task's phases into the checkpoint's (each the maximum so far). `runQueueAtTrigger`:
 * that task thread's run-queue wait read at the trigger, from which its own sample gives
 * `runQueueMs`.
 */
export function mergePhases(m: CheckpointPhases, phases: CheckpointPhases, runQueueAtTrigger: number | undefined): void {
  m.startDelayMs = Math.max(m.startDelayMs, phases.startDelayMs);
  m.alignmentMs = Math.max(m.alignmentMs, phases.alignmentMs);
  m.syncMs = Math.max(m.syncMs, phases.syncMs);
  m.asyncMs = Math.max(m.asyncMs, phases.asyncMs);
  if (phases.runQueue !== undefined && runQueueAtTrigger !== undefined)
    m.runQueueMs = Math.max(m.runQueueMs ?? 0, (phases.runQueue.ns - runQueueAtTrigger) / 1e6);
  for (const k of OPTIONAL_PHASES) if (phases[k] !== undefined) m[k] = Math.max(m[k] ?? 0, phases[k]);
  // One source's wait, whole: the slowest source's (the one that took the trigger last), so the
  // wait shown is that source's own and not another's that merely ended later.
  const w = phases.sourceWait;
  if (w !== undefined && (m.sourceWait === undefined || sourceTook(w) > sourceTook(m.sourceWait))) m.sourceWait = w;
  if (phases.files !== undefined) m.files = (m.files ?? 0) + phases.files;
}

/** When a source took the trigger (ms after it), or for a leg without it when its wait ended. */
const sourceTook = (w: SourceWaitLeg): number => w.tookMs ?? w.endedMs;

const OPTIONAL_PHASES = [
  'channelWaitMs',
  'encodeMs',
  'writeMs',
  'writeIoMs',
  'sourceStartDelayMs',
  'sourceWakeMs',
  'sourceBusyMs',
  'sourceOutMs',
  'noticeMs',
  'deployingMs',
  'gcMs',
  ...TASK_TAIL_LEGS,
] as const;
