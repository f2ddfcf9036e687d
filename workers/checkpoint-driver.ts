/**
 * Drives a task's checkpoints from the loop's side (Flink's SubtaskCheckpointCoordinator as
 * seen by the StreamTask): the barrier handler's host, the snapshot at the barrier, and the
 * commands the main thread sends (trigger at a source, notify-complete, abort). The loop
 * moves data; it hands barriers to `barriers` and commands to `handleCommands`, and reads
 * back only `stopId`.
 *
 * Declines leave as data (a code, the operator, the subtask), never as sentences.
 */
import { createBarrierHandler, type BarrierHandler } from '../core/checkpoint/barrier-handler.js';
import {
  BARRIER_FLAG_FINAL,
  BARRIER_FLAG_SAVEPOINT,
  BARRIER_FLAG_STOP,
  BARRIER_FLAG_UNALIGNED,
  FRAME_BARRIER,
  FRAME_CANCEL_BARRIER,
} from '../core/channel/layout.js';
import type { PriorityEvent } from '../core/channel/ring.js';
import type { WatermarkValve } from '../core/time/watermark-valve.js';
import { EddyError, messageOf } from '../core/failure.js';
import type { CheckpointPhases } from '../core/checkpoint/coordinator.js';
import { checkpointTraceOn, traceGcPauses } from '../core/checkpoint/gc-pauses.js';
import { runQueueSample } from '../core/checkpoint/run-queue.js';
import { displayName } from '../core/graph/stream-graph.js';
import { TaskCheckpointer } from './checkpointing.js';
import { InFlightCapture, type FrameSource } from './in-flight.js';
import { InFlightArena } from './in-flight-arena.js';
import type { RecordBatch } from './record-batch.js';
import type { SourceTrigger } from './source-trigger.js';
import type { StreamTask } from './task.js';

export class TaskCheckpointDriver {
  readonly checkpointer: TaskCheckpointer | undefined;
  /** Aligns the barriers of a task with inputs (undefined at a source or without checkpointing). */
  readonly barriers: BarrierHandler | undefined;
  /** Id of the stop-with-savepoint this task has taken (sources read no more), else -1. */
  stopId = -1;
  /** Per input channel, 1 while its data frames are recorded as in-flight data (unaligned checkpoint). */
  recording: Uint8Array | undefined;
  /** The in-flight data of the unaligned checkpoint being taken at this task. */
  private capture: InFlightCapture | undefined;
  /** Where unaligned captures copy their input bytes, reused (see in-flight-arena.ts). */
  private readonly arena: InFlightArena | undefined;
  /** Start-delay legs are traced (EDDY_CHECKPOINT_TRACE=1): GC pauses and run-queue waits. */
  private readonly traced: boolean;
  private readonly event: PriorityEvent = { seq: 0, id: 0, flags: 0, cut: 0, timestamp: 0 };

  constructor(
    private readonly task: StreamTask,
    /** The task's input watermark valve (tasks with inputs): part of an unaligned snapshot. */
    private readonly valve?: WatermarkValve,
    /** The record frame the loop is delivering: its undelivered rest is in-flight input of an unaligned snapshot. */
    private readonly delivering?: RecordBatch,
    /** A source's armed trigger: in traced runs it knows the source's last wait (the 'woke' leg). */
    private readonly trigger?: SourceTrigger,
  ) {
    // Restoring needs the checkpointer even when the run itself does not checkpoint.
    this.checkpointer = task.checkpointing || task.spec.restore ? new TaskCheckpointer(task) : undefined;
    this.traced = task.checkpointing && checkpointTraceOn();
    if (this.traced) traceGcPauses();
    const input = task.input;
    if (!task.checkpointing || !input) return;
    if (task.spec.settings.unaligned) this.arena = new InFlightArena(input.channels.reduce((n, c) => n + c.capacity, 0));
    this.barriers = createBarrierHandler(
      task.plan.settings.mode === 'exactly-once' ? 'exactly-once' : 'at-least-once',
      input.channels.length,
      {
        block: (i) => {
          input.blocked[i] = true;
        },
        unblockAll: () => input.blocked.fill(false),
        triggerCheckpoint: (id, timestamp, flags, alignmentStartedAt) => this.checkpoint(id, flags, timestamp, alignmentStartedAt),
        abortCheckpoint: (id, code) => {
          this.dropCapture(id, code);
          this.task.output?.broadcastControl(FRAME_CANCEL_BARRIER, 0, 1, id);
          this.checkpointer!.decline(id, code, `checkpoint ${id} aborted at ${this.task.name} (${code})`);
        },
      },
    );
  }

  /**
   * Snapshot at the barrier: capture state, send the barrier on (batched records before it
   * go first), then write the snapshot off the loop. `triggeredAt` is the coordinator's
   * trigger time (wall clock, fractional ms), carried by the barrier so every task can tell its start delay;
   * `alignmentStartedAt` (performance.now) is when the first barrier arrived, undefined at a
   * source, which starts when it handles the trigger.
   */
  private checkpoint(id: number, flags: number, triggeredAt: number, alignmentStartedAt?: number): void {
    const syncStart = performance.now();
    for (const op of this.task.operators) op.snapshotState?.(id);
    // The barrier goes on before the state is captured, as in Flink: nothing runs in between,
    // so the capture is still the state at the barrier, and the tasks downstream start their
    // part this task's capture earlier.
    let inFlight: InFlightCapture | undefined;
    let arena: InFlightArena | undefined;
    if ((flags & BARRIER_FLAG_UNALIGNED) !== 0) {
      // Every input records from here until its barrier is located; the barrier overtakes every output.
      arena = this.arena;
      inFlight = new InFlightCapture(id, this.task.spec.inputs, this.delivering, arena?.hold());
      inFlight.valve = this.valve?.snapshot();
      if (this.task.output) inFlight.setOutputs(this.task.output.overtakeAll(id, triggeredAt, flags));
      this.capture = inFlight;
      this.recording = inFlight.recording;
    } else {
      this.task.output?.broadcastControl(FRAME_BARRIER, flags, 2, id, triggeredAt);
    }
    const outAt = performance.now();
    // Traced runs: this thread's run-queue wait so far, after the barrier is out (a file read).
    const runQueue = this.traced ? runQueueSample() : undefined;
    const savepoint = (flags & BARRIER_FLAG_SAVEPOINT) !== 0;
    // The final barrier comes after this task's end of input on every channel (sources send it
    // once they ended): its operators have finished, their keyed state is spent (see capture).
    const finished = (flags & BARRIER_FLAG_FINAL) !== 0 && !savepoint && this.task.spec.settings.keepFinalKeyedState !== true;
    const captured = this.checkpointer!.capture(id, savepoint ? 'savepoint' : 'checkpoint', triggeredAt, finished);
    captured.inFlight = inFlight;
    // The writer thread reads the arena until the task file is written (or given up).
    if (arena !== undefined) captured.releases.push(() => arena.release());
    if ((flags & BARRIER_FLAG_STOP) !== 0) this.stopId = id;
    const started = alignmentStartedAt ?? syncStart;
    // triggeredAt is the main thread's timeOrigin + now(): every thread shares timeOrigin.
    const startedAt = performance.timeOrigin + started;
    const startDelayMs = Math.max(0, startedAt - triggeredAt);
    this.checkpointer!.persist(
      captured,
      {
        startDelayMs,
        alignmentMs: syncStart - started,
        syncMs: performance.now() - syncStart,
        ...this.legs(triggeredAt, startDelayMs, outAt),
        ...(runQueue ? { runQueue } : {}),
      },
      { from: triggeredAt, to: startedAt },
    );
  }

  /**
   * Where this task's start delay went (see CheckpointPhases): at a source, whether it was
   * still deploying when the trigger came, waiting (a wait that ended after the trigger: back
   * from it when) or busy, and when its barrier was out; downstream, when it noticed its first
   * barrier (and whether it was still deploying).
   */
  private legs(triggeredAt: number, startDelayMs: number, outAt: number): Partial<CheckpointPhases> {
    const t = this.task;
    if (t.source === undefined)
      return { noticeMs: startDelayMs, ...(t.runningAt > triggeredAt ? { deployingMs: t.runningAt - triggeredAt } : {}) };
    const woke = Math.max(t.idleTime.endedAt, t.backPressureTime.endedAt);
    let where: Partial<CheckpointPhases>;
    if (t.runningAt > triggeredAt) where = { deployingMs: t.runningAt - triggeredAt };
    else if (woke >= triggeredAt)
      where = { sourceWakeMs: woke - triggeredAt, sourceWait: this.trigger?.waitLeg(triggeredAt, woke, startDelayMs) };
    else where = { sourceBusyMs: startDelayMs };
    return {
      sourceStartDelayMs: startDelayMs,
      ...where,
      sourceOutMs: Math.max(0, performance.timeOrigin + outAt - triggeredAt),
    };
  }

  /**
   * At deployment, before the first record, with unaligned checkpoints: the task thread's
   * first pass through the unaligned code (a capture, its barriers located, the channel state
   * sized, described and encoded, a frame's rest re-encoded) runs here on an empty capture, so
   * its one-time costs (lazy compilation, the first encoder) are not paid by checkpoint 1.
   * Nothing is written, sent or consumed: every cut is at its ring's read position.
   */
  warmUnaligned(): void {
    const input = this.task.input;
    const capture = new InFlightCapture(0, this.task.spec.inputs);
    if (input) for (let i = 0; i < input.channels.length; i++) capture.locate(i, input.channels[i], undefined, input.channels[i].position);
    capture.valve = this.valve?.snapshot();
    capture.setOutputs(this.task.output?.channels.map((c, channel) => ({ channel, edge: c.edge, peer: c.consumer, frames: [] })) ?? []);
    this.delivering?.prepareRemainder();
    this.checkpointer?.warmInFlightWrite(capture.state());
  }

  /**
   * Barriers that overtook data in an input ring (the gate's priority doorbell rang): each
   * goes to the barrier handler (the first one snapshots), and locates its channel's cut.
   */
  onPriority(): void {
    const input = this.task.input!;
    const ev = this.event;
    for (let i = 0; i < input.channels.length; i++) {
      if (!input.takePriority(i, ev) || (ev.flags & BARRIER_FLAG_UNALIGNED) === 0) continue;
      this.barriers?.onBarrier(i, ev.id, ev.timestamp, ev.flags);
      const c = this.capture;
      if (c !== undefined && c.id === ev.id) {
        c.locate(i, input.channels[i], input.replays[i], ev.cut);
        this.checkpointer?.noteProgress();
      }
    }
  }

  /** Channel i's current frame arrived before its barrier and after the snapshot: keep a copy. */
  record(i: number, src: FrameSource): void {
    this.capture!.record(i, src);
  }

  private dropCapture(id: number, why: string): void {
    if (this.capture === undefined || this.capture.id !== id) return;
    this.capture.abort(`checkpoint ${id} aborted at ${this.task.name} (${why})`);
    this.capture = undefined;
    this.recording = undefined;
  }

  /** Serves the queued commands, oldest first. */
  async handleCommands(): Promise<void> {
    const q = this.task.commands;
    while (q.length > 0) {
      const cmd = q.shift()!;
      switch (cmd.type) {
        case 'trigger': {
          const flags =
            (cmd.final ? BARRIER_FLAG_FINAL : 0) |
            (cmd.kind === 'savepoint' ? BARRIER_FLAG_SAVEPOINT : 0) |
            (cmd.stop ? BARRIER_FLAG_STOP : 0) |
            (cmd.unaligned ? BARRIER_FLAG_UNALIGNED : 0);
          this.checkpoint(cmd.id, flags, cmd.timestamp);
          break;
        }
        case 'notify':
          await this.checkpointer?.notifyComplete(cmd.id, cmd.final);
          await this.notifySource(cmd.id);
          for (const op of this.task.operators) op.notifyCheckpointComplete?.(cmd.id);
          // A stop-with-savepoint that completed without becoming final: carry on.
          if (cmd.id === this.stopId && !cmd.final) this.stopId = -1;
          break;
        case 'abort':
          // Sealed transactions stay and are committed with the next completed checkpoint;
          // an aborted stop-with-savepoint lets the job keep running.
          if (cmd.id === this.stopId) this.stopId = -1;
          this.dropCapture(cmd.id, 'aborted by the coordinator');
          break;
      }
    }
  }

  /** The source reader learns of a completed checkpoint (acks and offset commits wait for it). */
  private async notifySource(id: number): Promise<void> {
    const src = this.task.source;
    if (!src?.reader.notifyCheckpointComplete) return;
    try {
      await src.reader.notifyCheckpointComplete(id);
    } catch (err) {
      const uid = displayName(src.node);
      throw new EddyError('SOURCE_FAILED', `source '${uid}' failed on completion of checkpoint ${id}: ${messageOf(err)}`, {
        operatorUid: uid,
        subtask: this.task.spec.subtask,
      });
    }
  }
}
