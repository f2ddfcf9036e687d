/**
 * The checkpoint coordinator, kept to trigger, ack, timeout, complete and notify. One
 * checkpoint at a time; the next is triggered an interval after the previous trigger and at
 * least a minimum pause after the previous one ended. Everything with side effects (sending
 * triggers, writing metadata, notifying tasks) belongs to the host.
 *
 * A savepoint is a checkpoint that is also copied out, self-contained, to where the user
 * asked: it takes the next id, is registered like any checkpoint (so a failure right after
 * it restores from it, and sinks may commit on it), and then the host writes the copy. A
 * stop-with-savepoint is the job's last checkpoint: once complete, tasks are told it was
 * final and end; if it fails, the job carries on.
 */
import { countsTowardFailureLimit, describeDecline, isRoutine, type CheckpointDecline, type CheckpointDeclineCode } from './decline.js';
import {
  PENDING_CHECKSUM,
  pieceKey,
  type ChannelStateHandle,
  type CheckpointMetadata,
  type KeyedStateHandle,
  type OperatorStateHandles,
  type StateFileHandle,
} from './metadata.js';
import { messageOf } from '../failure.js';
import { wallNow } from '../channel/time-account.js';
import { gcPauseWithin } from './gc-pauses.js';
import type { FileDurable } from './state-file-writer.js';
import {
  mergePhases,
  type CheckpointPhases,
  type CheckpointStats,
  type CompletionLegs,
  type PersistMarks,
  type SnapshotKind,
  type TriggerLegs,
} from './checkpoint-stats.js';

export type { CheckpointPhases, CheckpointStats, CompletionLegs, PersistMarks, SnapshotKind, TriggerLegs } from './checkpoint-stats.js';

export interface SubtaskAck {
  uid: string;
  parallelism: number;
  subtask: number;
  keyed?: KeyedStateHandle;
  operator?: StateFileHandle;
}

export interface CompletedSavepoint {
  id: number;
  /** The savepoint directory. */
  path: string;
  metadata: CheckpointMetadata;
}

export interface CoordinatorHost {
  /**
   * Inject barrier `id` at every source task (`unaligned`: it overtakes in-flight data).
   * `timestamp` is the trigger's wall-clock time in fractional ms (timeOrigin + now, the clock
   * every thread of the process shares), from which each task measures its start delay.
   */
  trigger(id: number, timestamp: number, final: boolean, kind: SnapshotKind, stop: boolean, unaligned: boolean): void;
  /**
   * Arm periodic checkpoint `id` at every source task ahead of its due time `dueAt` (the same
   * clock as `timestamp`); each source takes it itself when due, so this thread's timer and
   * scheduling are off the trigger's path. Without it, periodic checkpoints go by `trigger` at
   * the due time. A host that arms withdraws what it armed before it posts any trigger or abort.
   */
  arm?(id: number, dueAt: number, unaligned: boolean): void;
  /** Persist the metadata (atomically); resolves once the checkpoint exists on disk. `marks`: when each step ended. */
  persist(metadata: CheckpointMetadata, marks: PersistMarks): Promise<void>;
  /** Copy a completed checkpoint out as a self-contained savepoint; resolves with its path. */
  persistSavepoint(metadata: CheckpointMetadata, targetRoot: string): Promise<string>;
  /** Tell every task checkpoint `id` is complete (sinks commit); what the host does after that (pruning) runs off the completion path. */
  notifyComplete(id: number, final: boolean): void;
  /** Resolves once that work after completions has ended. */
  settled?(): Promise<void>;
  /** Tell every task checkpoint `id` will not complete (drop what they hold for it). */
  notifyAborted(decline: CheckpointDecline): void;
  /** Traced runs: every thread's cumulative run-queue wait (ns) by thread id, read right after the trigger is posted. */
  sampleRunQueues?(): Map<number, number>;
  /** Too many checkpoints failed in a row: fail the job with this reason. */
  failJob(reason: string): void;
}

/**
 * How long before its due time a periodic checkpoint is armed at the sources: this thread's
 * timer may be that late (busy cores, a GC) without making the checkpoint late. A savepoint
 * asked for meanwhile waits behind it.
 */
const ARM_LEAD_MS = 20;

export interface CoordinatorConfig {
  intervalMs: number;
  timeoutMs: number;
  minPauseMs: number;
  /** Consecutive failed checkpoints tolerated before the job fails (counting only the codes countsTowardFailureLimit names). */
  tolerableFailures: number;
  /** Tasks that must acknowledge each checkpoint. */
  taskCount: number;
  maxParallelism: number;
  /** First id to use (after a restore: one more than the restored checkpoint). */
  firstId: number;
  /**
   * Checkpoints are unaligned. Savepoints, stop-with-savepoint and the final checkpoint of a
   * bounded job stay aligned, as in Flink (the final one: data still in flight behind its
   * barrier would end up in a transaction nobody commits).
   */
  unaligned?: boolean;
  /**
   * With `unaligned`: checkpoints start aligned, and one still pending this long after its
   * trigger is replaced at once by an unaligned one (declined as 'aligned-timeout', which does
   * not count as a failure). Undefined or 0: every checkpoint is unaligned from the start.
   */
  alignedTimeoutMs?: number;
}

interface SavepointRequest {
  stop: boolean;
  /** The directory under which the savepoint's own directory is made. */
  targetRoot: string;
  resolve(s: CompletedSavepoint): void;
  reject(err: Error): void;
}

interface Pending {
  id: number;
  /** Wall clock (timeOrigin + now, fractional ms). */
  timestamp: number;
  /** When the checkpoint was due (wall clock), NaN when not periodic; the posts (or the arming) done. */
  dueAt: number;
  /** Armed at the sources, to be taken by them at `timestamp` (host.arm), not posted. */
  armed: boolean;
  postedAt: number;
  /** Traced runs: each task thread's run-queue wait at the trigger (ns), by thread id. */
  runQueueAtTrigger: Map<number, number> | undefined;
  final: boolean;
  savepoint: SavepointRequest | undefined;
  acked: Set<number>;
  acks: SubtaskAck[];
  unaligned: boolean;
  channels: ChannelStateHandle[];
  /**
   * Pieces acknowledged while their file was still being written on a task's writer thread
   * (checksum PENDING_CHECKSUM), by pieceKey: the checkpoint completes only once each one's
   * FileDurable came.
   */
  awaiting: Map<string, StateFileHandle>;
  /** When the last FileDurable was taken (wall clock). */
  lastDurableAt: number;
  /** When the last ack was taken (wall clock). */
  lastAckAt: number;
  /** Each phase's maximum over the tasks acknowledged so far. */
  phases: CheckpointPhases;
  timer: NodeJS.Timeout;
}

export class CheckpointCoordinator {
  private nextId: number;
  private pending: Pending | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Wall clock (timeOrigin + now), as every time here. */
  private lastTrigger = 0;
  private lastEnd = 0;
  /** Failures in a row since the last completed checkpoint, by reason (counted reasons only). */
  private readonly consecutive = new Map<CheckpointDeclineCode, number>();
  private consecutiveFailures = 0;
  private finalRequested = false;
  /** A stop-with-savepoint completed: no more checkpoints. */
  private ending = false;
  private stopped = true;
  private readonly savepointQueue: SavepointRequest[] = [];
  completed = 0;
  failed = 0;
  lastCompletedId = 0;
  /** Every failed checkpoint of this attempt, by reason. */
  readonly failedByReason: Partial<Record<CheckpointDeclineCode, number>> = {};
  /** Per completed checkpoint: id, duration, its phases (slowest task), bytes written. */
  readonly stats: CheckpointStats[] = [];

  constructor(
    private readonly cfg: CoordinatorConfig,
    private readonly host: CoordinatorHost,
  ) {
    this.nextId = cfg.firstId;
  }

  start(): void {
    this.stopped = false;
    // The first checkpoint comes one interval after the start, not at once.
    this.lastEnd = this.lastTrigger = wallNow();
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    const p = this.pending;
    if (p) clearTimeout(p.timer);
    this.pending = undefined;
    const gone = new Error(
      p?.savepoint ? `the job attempt ended before savepoint ${p.id} completed` : 'the job attempt ended before the savepoint was taken',
    );
    p?.savepoint?.reject(gone);
    for (const r of this.savepointQueue.splice(0)) r.reject(gone);
  }

  /** Resolves once the host's work after the last completion (pruning old checkpoints) has ended: call after stop. */
  settled(): Promise<void> {
    return this.host.settled?.() ?? Promise.resolve();
  }

  /**
   * Take a savepoint as soon as no checkpoint is in flight. With `stop`, it is the job's last
   * checkpoint: sources read nothing after its barrier, and tasks end once it is complete.
   */
  triggerSavepoint(stop: boolean, targetRoot: string): Promise<CompletedSavepoint> {
    return new Promise((resolve, reject) => {
      if (this.stopped) return reject(new Error('the job is not running (it is starting, restarting or has ended)'));
      if (this.finalRequested || this.ending) return reject(new Error('the job is already finishing; nothing is left to save'));
      this.savepointQueue.push({ stop, targetRoot, resolve, reject });
      if (!this.pending) this.triggerNow(false);
    });
  }

  /** All sources have ended: take the final checkpoint (as soon as none is in flight). */
  requestFinal(): void {
    this.finalRequested = true;
    const p = this.pending;
    // A periodic checkpoint armed but not yet due would be taken after every source ended, only
    // to be followed by the final one: it gives way (no source takes it before its due time, and
    // the abort reaches any that raced it), so no periodic checkpoint comes after the end of input.
    if (p?.armed === true && wallNow() < p.timestamp)
      this.fail({ id: p.id, code: 'withdrawn', message: 'every source ended before it was due; the final checkpoint replaces it' });
    else if (!p) this.triggerNow(true);
  }

  private schedule(): void {
    if (this.savepointQueue.length > 0) return this.triggerNow(false);
    if (this.stopped || this.pending || this.finalRequested || this.ending || this.cfg.intervalMs <= 0) return;
    if (this.timer) clearTimeout(this.timer);
    const at = Math.max(this.lastTrigger + this.cfg.intervalMs, this.lastEnd + this.cfg.minPauseMs);
    const lead = this.host.arm !== undefined ? ARM_LEAD_MS : 0;
    this.timer = setTimeout(() => this.triggerNow(false, false, at), Math.max(0, at - lead - wallNow()));
    this.timer.unref();
  }

  private triggerNow(final: boolean, forceUnaligned = false, dueAt = NaN): void {
    if (this.stopped || this.pending || this.ending) return;
    if (this.timer) clearTimeout(this.timer);
    // The final checkpoint of a bounded job is never a savepoint: queued requests fail then.
    const savepoint = final ? undefined : this.savepointQueue.shift();
    if (final)
      for (const r of this.savepointQueue.splice(0)) r.reject(new Error('the job reached the end of its input; nothing is left to save'));
    const id = this.nextId++;
    const now = wallNow();
    // A periodic checkpoint is armed at the sources, to be taken at its due time (or at once if
    // this timer came too late for that); everything else is triggered now.
    const armed = !Number.isNaN(dueAt) && !final && savepoint === undefined && this.host.arm !== undefined;
    const timestamp = armed ? Math.max(dueAt, now) : now;
    const ahead = timestamp - now;
    this.lastTrigger = timestamp;
    const timer = setTimeout(
      () => this.fail({ id, code: 'timeout', message: `checkpoint ${id} timed out after ${this.cfg.timeoutMs} ms` }),
      this.cfg.timeoutMs + ahead,
    );
    timer.unref();
    const timeoutMs = this.cfg.alignedTimeoutMs ?? 0;
    const unaligned = this.cfg.unaligned === true && !final && savepoint === undefined && (forceUnaligned || timeoutMs === 0);
    if (this.cfg.unaligned === true && !unaligned && !final && savepoint === undefined) {
      // Aligned first; still aligning after the timeout: the barriers in flight are superseded
      // by an unaligned checkpoint's, which overtake them (and the data ahead of them).
      const switchTimer = setTimeout(() => {
        if (this.pending?.id !== id) return;
        this.fail({
          id,
          code: 'aligned-timeout',
          message: `checkpoint ${id} still aligning after ${timeoutMs} ms: replaced by an unaligned checkpoint`,
        });
        if (!this.pending) this.triggerNow(this.finalRequested, !this.finalRequested);
      }, timeoutMs + ahead);
      switchTimer.unref();
    }
    const p: Pending = {
      id,
      timestamp,
      dueAt,
      armed,
      postedAt: NaN,
      runQueueAtTrigger: undefined,
      final,
      savepoint,
      acked: new Set(),
      acks: [],
      unaligned,
      channels: [],
      awaiting: new Map(),
      lastDurableAt: NaN,
      lastAckAt: NaN,
      phases: { startDelayMs: 0, alignmentMs: 0, syncMs: 0, asyncMs: 0 },
      timer,
    };
    this.pending = p;
    if (armed) this.host.arm!(id, timestamp, unaligned);
    else this.host.trigger(id, timestamp, final, savepoint ? 'savepoint' : 'checkpoint', savepoint?.stop ?? false, unaligned);
    p.postedAt = wallNow();
    const sample = this.host.sampleRunQueues;
    if (sample === undefined) return;
    // The run-queue baseline at the trigger's time (armed ahead: when it falls due).
    if (ahead <= 0) p.runQueueAtTrigger = sample();
    else
      setTimeout(() => {
        if (this.pending === p) p.runQueueAtTrigger = sample();
      }, ahead).unref();
  }

  onAck(taskIndex: number, id: number, acks: SubtaskAck[], phases?: CheckpointPhases, channels?: ChannelStateHandle): void {
    const p = this.pending;
    if (!p || p.id !== id || p.acked.has(taskIndex)) return; // late ack of an aborted checkpoint
    p.acked.add(taskIndex);
    p.lastAckAt = wallNow();
    p.acks.push(...acks);
    if (channels) p.channels.push(channels);
    for (const h of handlesOf(acks, channels)) if (h.checksum === PENDING_CHECKSUM) p.awaiting.set(pieceKey(h.file, h.offset), h);
    if (phases) mergePhases(p.phases, phases, phases.runQueue === undefined ? undefined : p.runQueueAtTrigger?.get(phases.runQueue.tid));
    this.completeIfAllIn(p);
  }

  /**
   * A file acknowledged while being written (see Pending.awaiting) is durable: its checksum
   * goes into the handle, its writer's marks into the phases (as a task's would).
   */
  onDurable(id: number, n: FileDurable): void {
    const p = this.pending;
    if (p?.id !== id) return; // aborted meanwhile
    const now = wallNow();
    const ph = p.phases;
    ph.writerTookAtMs = Math.max(ph.writerTookAtMs ?? 0, n.tookAt - p.timestamp);
    ph.syncedAtMs = Math.max(ph.syncedAtMs ?? 0, n.syncedAt - p.timestamp);
    ph.writeIoMs = Math.max(ph.writeIoMs ?? 0, n.syncedAt - n.tookAt);
    ph.writeMs = Math.max(ph.writeMs ?? 0, now - n.handedAt);
    let taken = false;
    for (const piece of n.pieces) {
      const key = pieceKey(n.file, piece.offset);
      const h = p.awaiting.get(key);
      // Not awaited: the task took the writer's reply before it acknowledged, so the ack had it all.
      if (h === undefined) continue;
      p.awaiting.delete(key);
      h.checksum = piece.checksum;
      taken = true;
    }
    if (!taken) return;
    p.lastDurableAt = now;
    this.completeIfAllIn(p);
  }

  /** Every task acknowledged and every file it left to its writer thread is durable: nothing it refers to can be lost. */
  private completeIfAllIn(p: Pending): void {
    if (p.acked.size === this.cfg.taskCount && p.awaiting.size === 0) void this.complete(p);
  }

  onDecline(decline: CheckpointDecline): void {
    if (this.pending?.id === decline.id) this.fail(decline);
  }

  private async complete(p: Pending): Promise<void> {
    clearTimeout(p.timer);
    const ackTakenAt = wallNow();
    const durationMs = ackTakenAt - p.timestamp;
    const marks: PersistMarks = {};
    const metadata: CheckpointMetadata = {
      id: p.id,
      timestamp: Math.floor(p.timestamp),
      durationMs: Math.round(durationMs),
      kind: 'checkpoint',
      maxParallelism: this.cfg.maxParallelism,
      operators: groupByOperator(p.acks),
      ...(p.unaligned ? { unaligned: true } : {}),
      ...(p.final ? { finished: true } : {}),
      ...(p.channels.length > 0 ? { channels: p.channels.sort((a, b) => a.vertexId - b.vertexId || a.subtask - b.subtask) } : {}),
    };
    try {
      await this.host.persist(metadata, marks);
    } catch (err) {
      this.fail({ id: p.id, code: 'metadata-write-failed', message: `checkpoint ${p.id} could not be written: ${messageOf(err)}` });
      return;
    }
    if (this.pending !== p) return;
    // The checkpoint exists from here on; a savepoint copy that fails only fails the savepoint.
    let savepoint: CompletedSavepoint | undefined;
    let savepointError: Error | undefined;
    if (p.savepoint) {
      const sp = { ...metadata, kind: 'savepoint' as const };
      try {
        savepoint = { id: p.id, path: await this.host.persistSavepoint(sp, p.savepoint.targetRoot), metadata: sp };
      } catch (err) {
        savepointError = err instanceof Error ? err : new Error(String(err));
      }
      if (this.pending !== p) return p.savepoint.reject(new Error(`the job attempt ended while savepoint ${p.id} was being written`));
    }
    this.pending = undefined;
    this.completed++;
    this.lastCompletedId = p.id;
    let bytes = 0;
    for (const a of p.acks) bytes += (a.keyed ? keyedBytesWritten(a.keyed, p.id, p.savepoint !== undefined) : 0) + (a.operator?.bytes ?? 0);
    let inFlightBytes = 0;
    for (const c of p.channels) {
      bytes += c.file.bytes;
      inFlightBytes += c.bytes;
    }
    const mainGcMs = gcPauseWithin(Number.isNaN(p.dueAt) ? p.timestamp : p.dueAt, p.postedAt);
    // Armed ahead, the posting is done before the due time and costs the start delay nothing.
    const legs: TriggerLegs = {
      timerLateMs: Number.isNaN(p.dueAt) ? 0 : Math.max(0, p.timestamp - p.dueAt),
      postMs: Math.max(0, p.postedAt - p.timestamp),
      ...(mainGcMs !== undefined ? { mainGcMs } : {}),
    };
    const after = (at: number | undefined) => (at === undefined ? undefined : at - p.timestamp);
    const completion: CompletionLegs = {
      ackTakenMs: durationMs,
      lastAckMs: p.lastAckAt - p.timestamp,
      ...(Number.isNaN(p.lastDurableAt) ? {} : { durableTakenMs: p.lastDurableAt - p.timestamp }),
      dirSyncedMs: after(marks.dirSyncedAt),
      metadataMs: after(marks.metadataAt),
      rootSyncedMs: after(marks.rootSyncedAt),
      completedMs: wallNow() - p.timestamp,
    };
    this.stats.push({
      id: p.id,
      durationMs,
      ...p.phases,
      bytes,
      final: p.final,
      kind: p.savepoint ? 'savepoint' : 'checkpoint',
      unaligned: p.unaligned,
      inFlightBytes,
      legs,
      completion,
    });
    this.consecutiveFailures = 0;
    this.consecutive.clear();
    this.lastEnd = wallNow();
    const stops = p.savepoint?.stop === true && savepoint !== undefined;
    if (stops) this.ending = true;
    // A stop-with-savepoint whose copy failed is notified as not final: its tasks carry on.
    this.host.notifyComplete(p.id, p.final || stops);
    if (savepoint) p.savepoint!.resolve(savepoint);
    else if (p.savepoint) p.savepoint.reject(savepointError!);
    if (this.finalRequested && !p.final) this.triggerNow(true);
    else this.schedule();
  }

  private fail(d: CheckpointDecline): void {
    const p = this.pending;
    if (!p || p.id !== d.id) return;
    clearTimeout(p.timer);
    this.pending = undefined;
    if (!isRoutine(d.code)) {
      this.failed++;
      this.failedByReason[d.code] = (this.failedByReason[d.code] ?? 0) + 1;
    }
    this.lastEnd = wallNow();
    this.host.notifyAborted(d);
    p.savepoint?.reject(new Error(describeDecline(d)));
    if (countsTowardFailureLimit(d.code)) {
      this.consecutive.set(d.code, (this.consecutive.get(d.code) ?? 0) + 1);
      if (++this.consecutiveFailures > this.cfg.tolerableFailures) {
        const byReason = [...this.consecutive].map(([code, n]) => `${n} ${code}`).join(', ');
        this.host.failJob(
          `${this.consecutiveFailures} checkpoints failed in a row (${byReason}; tolerable: ${this.cfg.tolerableFailures}); last: checkpoint ${d.id} ${describeDecline(d)}`,
        );
        return;
      }
    }
    if (this.finalRequested) this.triggerNow(true);
    else this.schedule();
  }
}

/** Every state file handle an ack names (a keyed handle's base and deltas included). */
function handlesOf(acks: SubtaskAck[], channels: ChannelStateHandle | undefined): StateFileHandle[] {
  const out: StateFileHandle[] = [];
  for (const a of acks) {
    if (a.keyed) out.push(a.keyed.file, ...(a.keyed.deltas ?? []).map((d) => d.file));
    if (a.operator) out.push(a.operator);
  }
  if (channels) out.push(channels.file);
  return out;
}

function groupByOperator(acks: SubtaskAck[]): OperatorStateHandles[] {
  const byUid = new Map<string, OperatorStateHandles>();
  for (const a of acks) {
    let op = byUid.get(a.uid);
    if (!op) byUid.set(a.uid, (op = { uid: a.uid, parallelism: a.parallelism, subtasks: [] }));
    op.subtasks.push({ subtask: a.subtask, keyed: a.keyed, operator: a.operator });
  }
  for (const op of byUid.values()) op.subtasks.sort((x, y) => x.subtask - y.subtask);
  return [...byUid.values()].sort((x, y) => (x.uid < y.uid ? -1 : x.uid > y.uid ? 1 : 0));
}

/**
 * Keyed bytes checkpoint `id` wrote: an incremental handle names its base and older deltas
 * (files of earlier checkpoints), so only its newest file counts, and only if it lies in this
 * checkpoint's folder (a delta with no change writes nothing). A savepoint is always full.
 */
function keyedBytesWritten(h: KeyedStateHandle, id: number, savepoint: boolean): number {
  if (savepoint) return h.file.bytes;
  const newest = h.deltas?.at(-1)?.file ?? h.file;
  return newest.file.startsWith(`chk-${id}/`) ? newest.bytes : 0;
}
