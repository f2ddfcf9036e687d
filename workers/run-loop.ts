/**
 * The task's loop: take input (from the source reader or the input gate), push it through the
 * chain, let backpressure (output drain) and the buffer timeout act, handle barriers and
 * commands, park when there is nothing to do.
 *
 * Time: record batches may carry event timestamps (set into task.time before each record);
 * watermark frames go through the input valve (minimum over non-idle, non-ended channels) and
 * down the chain; due wake-ups (periodic watermarks, processing-time timers) are served
 * between batches, and a parked loop wakes for the next one.
 *
 * Ending: when all input data has ended, event time advances to +Infinity (every window and
 * event-time timer fires), the operators finish (emit what they held back) and
 * end-of-stream goes downstream. Without checkpointing the task then ends. With it, the task
 * stays until the final checkpoint (taken once every source has ended) has completed, so the
 * last sink transactions commit only when a restore can no longer replay their records.
 *
 * Stop-with-savepoint ends a task the other way: sources read nothing after its barrier, no
 * operator finishes (what they hold is in the savepoint, to be continued from there), and the
 * task leaves once the savepoint is notified complete as final. If the savepoint fails
 * instead, sources resume reading as if nothing happened.
 *
 * The loop yields to the event loop every few iterations even when input never runs dry, so
 * control messages, timers and async I/O of this worker keep being served.
 */
import { createBarrierHandler, type BarrierHandler } from '../core/checkpoint/barrier-handler.js';
import { BatchDecoder } from '../core/channel/codec.js';
import type { RingConsumer } from '../core/channel/ring.js';
import {
  BARRIER_FLAG_FINAL,
  BARRIER_FLAG_SAVEPOINT,
  BARRIER_FLAG_STOP,
  FRAME_BARRIER,
  FRAME_CANCEL_BARRIER,
  FRAME_END_OF_STREAM,
  FRAME_RECORDS,
  FRAME_WATERMARK,
  RECORDS_FLAG_TIMESTAMPS,
  WATERMARK_FLAG_IDLE,
} from '../core/channel/layout.js';
import { NO_TIMESTAMP } from '../core/time/task-time.js';
import { WatermarkValve } from '../core/time/watermark-valve.js';
import { EddyError, toFailure } from '../core/failure.js';
import { displayName } from '../core/graph/stream-graph.js';
import { operatorFailure } from '../core/operators/failures.js';
import type { TaskOutcome } from '../core/runtime/messages.js';
import { TaskCheckpointer } from './checkpointing.js';
import { listenForCommands, send, takeCommands } from './control-port.js';
import type { StreamTask } from './task.js';
import type { ChainOperator } from '../core/operators/operator.js';

const YIELD_EVERY = 32;
/**
 * While a snapshot is being written, yield at least this often (ms): the write (encoding
 * slices, file writes, fsync) progresses only on the event loop. At YIELD_EVERY alone a busy
 * loop (32 batches, ~10 ms) kept a 10k-key checkpoint waiting ~110 ms for the loop to come
 * round; at 0.25 ms it takes ~20 ms, and throughput did not move (bench checkpoint-modes).
 */
const YIELD_WRITING_MS = 0.25;
const METRICS_EVERY = 64;
/** How long an idle task sleeps at most between checks when nothing rings its gate. */
const IDLE_PARK_MS = 200;

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

class Cancelled extends Error {}

export async function runTask(task: StreamTask): Promise<TaskOutcome> {
  let failed = false;
  const stopListening = listenForCommands(task.spec, task.commands, () => task.gate.ring());
  const loop = new TaskLoop(task);
  try {
    if (task.spec.restore) await loop.checkpointer!.restore(task.spec.restore);
    for (const op of task.operators) await op.initializeState?.(task.spec.restore !== undefined);
    for (const op of task.operators) await op.open();
    if (task.source) await loop.runSource();
    else await loop.runInputs();
    if (task.cancelled) throw new Cancelled();
    if (task.output) for (const c of task.output.channels) c.producer.close();
    task.publishMetrics();
    return { status: 'finished' };
  } catch (err) {
    failed = true;
    task.publishMetrics();
    if (err instanceof Cancelled || (err instanceof EddyError && err.code === 'CANCELLED') || task.cancelled) return { status: 'cancelled' };
    return { status: 'failed', failure: toFailure(err, { code: 'INTERNAL', operatorUid: task.vertex.name, subtask: task.spec.subtask, context: 'task failed' }) };
  } finally {
    stopListening();
    if (loop.checkpointer) await loop.checkpointer.settle();
    for (const op of task.operators) {
      try {
        await op.close(failed);
      } catch {
        // Closing after a failure must not hide the failure that caused it.
      }
    }
    try {
      await task.source?.reader.close?.();
    } catch {
      /* as above */
    }
    for (const n of task.nodes) {
      try {
        await n.keyed?.dispose();
      } catch {
        /* as above */
      }
    }
  }
}

class TaskLoop {
  readonly checkpointer: TaskCheckpointer | undefined;
  private readonly barriers: BarrierHandler | undefined;
  private readonly isCancelled = () => this.task.cancelled;
  /** The watermark over the task's input channels. */
  private readonly valve: WatermarkValve | undefined;
  /** Input data ended and the operators finished. */
  private dataEnded = false;
  /** Id of the stop-with-savepoint this task has taken (sources read no more), else -1. */
  private stopId = -1;
  /** Flags of the barrier being aligned (BARRIER_FLAG_*), and its id. */
  private barrierFlags = 0;
  private barrierFlagsId = -1;
  /** Event timestamps of the batch being delivered (decodeRecords), undefined when it has none. */
  private stamps: number[] | undefined = undefined;
  /** When the first barrier of the checkpoint being aligned arrived (performance.now). */
  private alignStart = 0;
  /** When the loop last yielded for a snapshot being written (performance.now). */
  private lastWriteYield = 0;
  /** Chained operators that complete work off the loop (async I/O); undefined when none. */
  private readonly asyncOps: ChainOperator[] | undefined;

  constructor(private readonly task: StreamTask) {
    // Restoring needs the checkpointer even when the run itself does not checkpoint.
    this.checkpointer = task.checkpointing || task.spec.restore ? new TaskCheckpointer(task) : undefined;
    this.valve = task.input ? new WatermarkValve(task.input.channels.length) : undefined;
    const asyncOps = task.operators.filter((op) => op.emitCompleted !== undefined);
    this.asyncOps = asyncOps.length > 0 ? asyncOps : undefined;
    if (task.checkpointing && task.input) {
      const input = task.input;
      this.barriers = createBarrierHandler(task.plan.settings.mode === 'exactly-once' ? 'exactly-once' : 'at-least-once', input.channels.length, {
        block: (i) => {
          input.blocked[i] = true;
        },
        unblockAll: () => input.blocked.fill(false),
        triggerCheckpoint: (id, timestamp) => this.checkpoint(id, id === this.barrierFlagsId ? this.barrierFlags : 0, timestamp),
        abortCheckpoint: (id, reason) => {
          this.task.output?.broadcastControl(FRAME_CANCEL_BARRIER, 0, 1, id);
          send(this.task.spec, { type: 'decline', id, reason: `${this.task.name}: ${reason}` });
        },
      });
    }
  }

  /**
   * True once the task may end: data ended (or a stop-with-savepoint was taken) and, under
   * checkpointing, the final checkpoint completed.
   */
  private get done(): boolean {
    if (!this.task.checkpointing) return this.dataEnded;
    return (this.dataEnded || this.stopId >= 0) && this.checkpointer!.finalNotified;
  }

  /** Nothing more to read: input ended, or stopped by a savepoint. */
  private get quiesced(): boolean {
    return this.dataEnded || this.stopId >= 0;
  }

  /**
   * Snapshot at the barrier: capture state, send the barrier on (batched records before it
   * go first), then write the snapshot off the loop. `triggeredAt` is the coordinator's
   * trigger time (Date.now), carried by the barrier so every task can tell its start delay.
   */
  private checkpoint(id: number, flags: number, triggeredAt: number): void {
    const syncStart = performance.now();
    for (const op of this.task.operators) op.snapshotState?.(id);
    const captured = this.checkpointer!.capture(id, (flags & BARRIER_FLAG_SAVEPOINT) !== 0 ? 'savepoint' : 'checkpoint');
    this.task.output?.broadcastControl(FRAME_BARRIER, flags, 2, id, triggeredAt);
    if ((flags & BARRIER_FLAG_STOP) !== 0) this.stopId = id;
    const end = performance.now();
    const input = this.task.input !== undefined;
    this.checkpointer!.persist(captured, {
      // A source starts when it handles the trigger; a task with inputs when its first barrier arrives.
      // triggeredAt is the main thread's Date.now(); timeOrigin + now() is the same wall clock here.
      startDelayMs: Math.max(0, performance.timeOrigin + (input ? this.alignStart : syncStart) - triggeredAt),
      // From the first barrier of this checkpoint to the last (0 at a source).
      alignmentMs: input ? syncStart - this.alignStart : 0,
      syncMs: end - syncStart,
    });
  }

  /** A snapshot is being written off the loop and the loop has not yielded for YIELD_WRITING_MS. */
  private yieldForWrite(): boolean {
    if (this.checkpointer === undefined || !this.checkpointer.writing) return false;
    const now = performance.now();
    if (now - this.lastWriteYield < YIELD_WRITING_MS) return false;
    this.lastWriteYield = now;
    return true;
  }

  /**
   * Async operators: emit what completed, and while one cannot take more input, wait for its
   * completions (backpressure) — emitting them and draining the output as they come.
   */
  private async serveAsync(ops: ChainOperator[]): Promise<void> {
    const output = this.task.output;
    for (const op of ops) {
      op.emitCompleted!();
      for (let w = op.backpressure!(); w !== undefined; w = op.backpressure!()) {
        if (output?.hasPending) await output.drain(this.isCancelled);
        await w;
        if (this.task.cancelled) throw new Cancelled();
        op.emitCompleted!();
      }
    }
  }

  /** Serves due wake-ups (periodic watermarks, processing-time timers). */
  private tick(): void {
    const time = this.task.time;
    if (time.nextDue === Infinity) return;
    const now = Date.now();
    if (now >= time.nextDue) time.tick(now);
  }

  /** How long the loop may park before the next wake-up is due (ms). */
  private parkLimit(ms: number): number {
    const due = this.task.time.nextDue;
    return due === Infinity ? ms : Math.min(ms, Math.max(0, due - Date.now()));
  }

  private async handleCommands(): Promise<void> {
    const q = this.task.commands;
    while (q.length > 0) {
      const cmd = q.shift()!;
      if (cmd.type === 'trigger') {
        const flags = (cmd.final ? BARRIER_FLAG_FINAL : 0) | (cmd.kind === 'savepoint' ? BARRIER_FLAG_SAVEPOINT : 0) | (cmd.stop ? BARRIER_FLAG_STOP : 0);
        this.checkpoint(cmd.id, flags, cmd.timestamp);
      } else if (cmd.type === 'notify') {
        await this.checkpointer?.notifyComplete(cmd.id, cmd.final);
        await this.notifySource(cmd.id);
        for (const op of this.task.operators) op.notifyCheckpointComplete?.(cmd.id);
        // A stop-with-savepoint that completed without becoming final: carry on.
        if (cmd.id === this.stopId && !cmd.final) this.stopId = -1;
      } else if (cmd.id === this.stopId) {
        this.stopId = -1; // the stop-with-savepoint was aborted: the job keeps running
      }
      // 'abort' otherwise: sealed transactions stay and are committed with the next completed checkpoint.
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
      throw new EddyError('SOURCE_FAILED', `source '${uid}' failed on completion of checkpoint ${id}: ${err instanceof Error ? err.message : String(err)}`, {
        operatorUid: uid,
        subtask: this.task.spec.subtask,
      });
    }
  }

  /**
   * Input data ended: event time jumps to +Infinity so every pending window and event-time
   * timer fires, operators emit what they hold, then end-of-stream goes downstream — all
   * before the final checkpoint, so what they emit is committed with it.
   */
  private async endOfData(): Promise<void> {
    this.task.time.watermark(-1, Infinity);
    for (const op of this.task.operators) await op.finish();
    if (this.task.output) {
      this.task.output.flushAll();
      this.task.output.broadcastControl(FRAME_END_OF_STREAM, 0, 0);
      await this.task.output.drain(this.isCancelled);
    }
    this.dataEnded = true;
  }

  /**
   * Decodes a record frame and frees its ring space (decoding copied everything out). The
   * batch's event timestamps, when it carries them, are left in `stamps`, index by index.
   */
  private decodeRecords(decoder: BatchDecoder, ch: RingConsumer): unknown[] {
    const decoded = decoder.decode(ch.payload());
    ch.release();
    if ((ch.frameFlags & RECORDS_FLAG_TIMESTAMPS) === 0) {
      this.stamps = undefined;
      return decoded;
    }
    this.stamps = decoded[1] as number[];
    return decoded[0] as unknown[];
  }

  /** The inputs' combined watermark advanced (or all went idle): tell the chain. */
  private onValve(r: number | 'idle' | undefined): void {
    if (r === undefined) return;
    if (r === 'idle') this.task.time.idle(-1);
    else this.task.time.watermark(-1, r);
  }

  async runSource(): Promise<void> {
    const task = this.task;
    const { reader, counter, node } = task.source!;
    const s = task.plan.settings;
    const output = task.output;
    try {
      await reader.open?.();
    } catch (err) {
      throw operatorFailure(err, 'SOURCE_FAILED', 'source failed to open', node.uid ?? node.name, task.spec.subtask);
    }
    for (let iter = 1; !this.done; iter++) {
      if (task.cancelled) throw new Cancelled();
      takeCommands(task.spec, task.commands);
      if (task.commands.length > 0) await this.handleCommands();
      if (this.quiesced) {
        // Ended or stopped, waiting for the final checkpoint: nothing to read, only commands to serve.
        task.gate.arm();
        if (task.commands.length > 0 || this.done) task.gate.disarm();
        else await task.gate.park(IDLE_PARK_MS);
        continue;
      }
      this.tick();
      let r;
      try {
        r = reader.poll(counter, s.batchSize);
        if (typeof r !== 'string') r = await r;
      } catch (err) {
        throw operatorFailure(err, 'SOURCE_FAILED', 'source failed', node.uid ?? node.name, task.spec.subtask);
      }
      if (this.asyncOps !== undefined) await this.serveAsync(this.asyncOps);
      if (output) {
        if (output.hasPending) await output.drain(this.isCancelled);
        const due = output.flushDue(performance.now(), s.bufferTimeoutMs);
        if (r === 'idle') await this.parkSource(this.parkLimit(Math.min(reader.idleMs ?? 10, due === Infinity ? Infinity : Math.max(0, due - performance.now()))));
      } else if (r === 'idle') await this.parkSource(this.parkLimit(reader.idleMs ?? 10));
      if (r === 'end') {
        await this.endOfData();
        if (task.checkpointing) send(task.spec, { type: 'source-ended' });
      }
      if (iter % METRICS_EVERY === 0) task.publishMetrics();
      if (iter % YIELD_EVERY === 0 || this.yieldForWrite()) await yieldToEventLoop();
    }
  }

  private async parkSource(ms: number): Promise<void> {
    this.task.gate.arm();
    if (this.task.commands.length > 0) this.task.gate.disarm();
    else await this.task.gate.park(ms);
  }

  async runInputs(): Promise<void> {
    const task = this.task;
    const input = task.input!;
    const output = task.output;
    const head = task.head;
    const s = task.plan.settings;
    const decoder = new BatchDecoder();
    const barriers = this.barriers;
    const time = task.time;
    const valve = this.valve!;
    const sides = task.inputSides;
    let nextDue = Infinity;
    for (let iter = 1; !this.done; iter++) {
      if (task.cancelled) throw new Cancelled();
      takeCommands(task.spec, task.commands);
      if (task.commands.length > 0) {
        await this.handleCommands();
        if (this.done) break; // the final checkpoint completed: nothing to wait for
      }
      if (!this.dataEnded) this.tick();
      if (this.asyncOps !== undefined) await this.serveAsync(this.asyncOps);
      const i = input.poll();
      if (i < 0) {
        if (input.anyPoisoned()) throw new Cancelled();
        if (output) {
          if (output.hasPending) {
            await output.drain(this.isCancelled);
            continue;
          }
          nextDue = output.flushDue(performance.now(), s.bufferTimeoutMs);
        }
        task.gate.arm();
        if (input.poll() >= 0 || task.commands.length > 0 || input.anyPoisoned()) task.gate.disarm();
        else await task.gate.park(this.parkLimit(nextDue === Infinity ? IDLE_PARK_MS : Math.max(0, nextDue - performance.now())));
        continue;
      }
      const ch = input.channels[i];
      const type = ch.frameType;
      if (type === FRAME_RECORDS) {
        const records = this.decodeRecords(decoder, ch);
        const stamps = this.stamps;
        if (stamps === undefined) time.timestamp = NO_TIMESTAMP;
        if (sides !== undefined) {
          const side = sides[i];
          const two = task.twoInputHead!;
          for (let k = 0; k < records.length; k++) {
            if (stamps !== undefined) time.timestamp = stamps[k];
            two.collectSide(side, records[k]);
          }
        } else if (stamps === undefined) {
          for (let k = 0; k < records.length; k++) head.collect(records[k]);
        } else {
          for (let k = 0; k < records.length; k++) {
            time.timestamp = stamps[k];
            head.collect(records[k]);
          }
        }
      } else if (type === FRAME_WATERMARK) {
        const wm = ch.number(0);
        const idle = (ch.frameFlags & WATERMARK_FLAG_IDLE) !== 0;
        ch.release();
        this.onValve(valve.onWatermark(i, wm, idle));
      } else if (type === FRAME_BARRIER) {
        const id = ch.number(0);
        const ts = ch.number(1);
        if (this.barrierFlagsId !== id) {
          this.barrierFlagsId = id;
          this.barrierFlags = ch.frameFlags;
        }
        ch.release();
        if (barriers && barriers.pending !== id) this.alignStart = performance.now();
        barriers?.onBarrier(i, id, ts);
      } else if (type === FRAME_CANCEL_BARRIER) {
        const id = ch.number(0);
        ch.release();
        barriers?.onCancelBarrier(i, id);
      } else if (type === FRAME_END_OF_STREAM) {
        ch.release();
        input.markEnded(i);
        if (input.allEnded) await this.endOfData();
        else this.onValve(valve.onEnded(i));
      } else {
        ch.release();
      }
      if (output) {
        if (output.hasPending) await output.drain(this.isCancelled);
        if ((iter & 7) === 0) output.flushDue(performance.now(), s.bufferTimeoutMs);
      }
      if (iter % METRICS_EVERY === 0) task.publishMetrics();
      if (iter % YIELD_EVERY === 0 || this.yieldForWrite()) await yieldToEventLoop();
    }
  }
}
