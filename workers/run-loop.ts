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
 * Both loops share one shape: serve commands and drain output (`serve`), take one unit of
 * input (a source poll, an input frame through `onFrame`), then housekeeping (`afterFrame`).
 * A record frame is delivered in chunks of 64 records and may be left part-way (an unaligned
 * barrier waits, a snapshot write wants the event loop); the next iteration then serves that
 * and goes on with the same frame before it takes any other input (see `deliver`).
 * A backpressured task waits in drain, and a command interrupts that wait: between input
 * frames its state is consistent, so a trigger or a notify is served at once instead of
 * when the output ring frees up. Checkpoints themselves belong to the driver
 * (checkpoint-driver.ts); the loop hands it barriers and commands.
 *
 * The loop yields to the event loop every few iterations even when input never runs dry, so
 * control messages, timers and async I/O of this worker keep being served.
 */
import { BatchDecoder } from '../core/channel/codec.js';
import { FRAME_BARRIER, FRAME_CANCEL_BARRIER, FRAME_END_OF_STREAM, FRAME_RECORDS, FRAME_WATERMARK, RECORDS_FLAG_TIMESTAMPS, WATERMARK_FLAG_IDLE } from '../core/channel/layout.js';
import { NO_TIMESTAMP } from '../core/time/task-time.js';
import { WatermarkValve, type ValveState } from '../core/time/watermark-valve.js';
import { EddyError, toFailure } from '../core/failure.js';
import { operatorFailure } from '../core/operators/failures.js';
import type { TaskOutcome } from '../core/runtime/messages.js';
import { TaskCheckpointDriver } from './checkpoint-driver.js';
import type { FrameSource } from './in-flight.js';
import { listenForCommands, send, takeCommands } from './control-port.js';
import type { StreamTask } from './task.js';
import type { ChainOperator } from '../core/operators/operator.js';
import { DELIVERY_CHUNK, RecordBatch } from './record-batch.js';
import { pollHelperReplies } from '../core/helper-thread.js';
import { InputDebloat } from './input-debloat.js';

const YIELD_EVERY = 32;
/**
 * While a snapshot write needs the event loop (async fs calls, a sink's pre-commit, a keyed
 * capture in slices), yield at least this often (ms). At YIELD_EVERY alone a busy loop (32
 * batches, ~10 ms) kept a 10k-key checkpoint waiting ~110 ms for the loop to come round; at
 * 0.25 ms it takes ~20 ms, and throughput did not move (bench checkpoint-modes). Writes on
 * helper threads need no yield: their replies are polled between frames.
 */
const YIELD_WRITING_MS = 0.25;
const METRICS_EVERY = 64;
/** How long an idle task sleeps at most between checks when nothing rings its gate. */
const IDLE_PARK_MS = 200;

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

class Cancelled extends Error {}

/** Closing after a failure must not hide the failure that caused it. */
async function quietly(close: () => unknown): Promise<void> {
  try {
    await close();
  } catch {
    // The first failure is the one reported.
  }
}

export async function runTask(task: StreamTask): Promise<TaskOutcome> {
  let failed = false;
  // A command rings the task's gate: it wakes a parked task and one waiting for output space.
  const stopListening = listenForCommands(task.spec, task.commands, () => task.gate.ring());
  const loop = new TaskLoop(task);
  const checkpointer = loop.driver.checkpointer;
  try {
    let watermarks: ValveState | undefined;
    if (task.spec.restore) {
      await checkpointer!.restore(task.spec.restore);
      watermarks = await checkpointer!.restoreInFlight(task.spec.restore);
    }
    for (const op of task.operators) await op.initializeState?.(task.spec.restore !== undefined);
    for (const op of task.operators) await op.open();
    if (watermarks) loop.restoreWatermarks(watermarks);
    if (task.checkpointing) await checkpointer!.prepare();
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
    if (checkpointer) await checkpointer.settle();
    for (const op of task.operators) await quietly(() => op.close(failed));
    await quietly(() => task.source?.reader.close?.());
    for (const n of task.nodes) await quietly(() => n.keyed?.dispose());
  }
}

class TaskLoop {
  readonly driver: TaskCheckpointDriver;
  private readonly isCancelled = () => this.task.cancelled;
  /** A command (taken off the port: its gate was rung with it) or a priority event waits: a drain returns to let the loop serve it. */
  private readonly interruptsDrain = () => {
    takeCommands(this.task.spec, this.task.commands);
    return this.task.commands.length > 0 || this.task.input?.priorityPending() === true;
  };
  /** The watermark over the task's input channels. */
  private readonly valve: WatermarkValve | undefined;
  private readonly decoder = new BatchDecoder();
  /** Input data ended and the operators finished. */
  private dataEnded = false;
  /** Event timestamps of the batch being delivered (decodeRecords), undefined when it has none. */
  private stamps: number[] | undefined = undefined;
  /** When the loop last yielded for a snapshot being written (performance.now). */
  private lastWriteYield = 0;
  /** Chained operators that complete work off the loop (async I/O); undefined when none. */
  private readonly asyncOps: ChainOperator[] | undefined;
  /** The record frame being delivered; one left part-way is finished before any other input. */
  private readonly batch = new RecordBatch();
  /** Buffer debloating of the input rings (--buffer-debloat-target); undefined when off. */
  private readonly debloat: InputDebloat | undefined;

  constructor(private readonly task: StreamTask) {
    this.valve = task.input ? new WatermarkValve(task.input.channels.length) : undefined;
    this.driver = new TaskCheckpointDriver(task, this.valve, this.batch);
    const asyncOps = task.operators.filter((op) => op.emitCompleted !== undefined);
    this.asyncOps = asyncOps.length > 0 ? asyncOps : undefined;
    const target = task.plan.settings.bufferDebloatTargetMs;
    if (target !== undefined && task.input) this.debloat = new InputDebloat(task.input, target, task.plan.settings.ringCapacity, () => task.idleMs());
  }

  /**
   * True once the task may end: data ended (or a stop-with-savepoint was taken) and, under
   * checkpointing, the final checkpoint completed.
   */
  private get done(): boolean {
    if (!this.task.checkpointing) return this.dataEnded;
    return (this.dataEnded || this.driver.stopId >= 0) && this.driver.checkpointer!.finalNotified;
  }

  /**
   * The valve as it was at an unaligned snapshot, and its watermark into the chain, before any
   * replayed record: timers at or before it fired before the snapshot (and left timer state),
   * so nothing fires twice, and a record that was late stays late.
   */
  restoreWatermarks(v: ValveState): void {
    this.valve?.restore(v);
    if (v.last > -Infinity) this.task.time.watermark(-1, v.last);
  }

  /** Nothing more to read: input ended, or stopped by a savepoint. */
  private get quiesced(): boolean {
    return this.dataEnded || this.driver.stopId >= 0;
  }

  /**
   * The head of every iteration: fail fast on cancellation, serve commands, write pending
   * output. False when a command interrupted the drain: the loop comes round to serve it and
   * takes no input while output is still pending (that bounds memory, see output.ts).
   */
  private async serve(): Promise<boolean> {
    const task = this.task;
    if (task.cancelled) throw new Cancelled();
    takeCommands(task.spec, task.commands);
    if (task.commands.length > 0) await this.driver.handleCommands();
    // No frame is processed here, so a barrier may be taken in (and snapshot) before any ordering check.
    if (task.input?.priorityChanged() === true) this.driver.onPriority();
    const output = task.output;
    return output === undefined || !output.hasPending || (await output.drain(this.isCancelled, this.interruptsDrain));
  }

  /** The tail of every iteration: metrics now and then, and a yield to the event loop. */
  private async afterFrame(iter: number): Promise<void> {
    if (iter % METRICS_EVERY === 0) this.task.publishMetrics();
    if (this.debloat !== undefined) this.debloat.tick(performance.now());
    if (iter % YIELD_EVERY === 0 || this.yieldForWrite()) await yieldToEventLoop();
  }

  /**
   * A snapshot is being written: takes the helper threads' replies. True (yield now) once
   * after a step of the write moved (a reply taken, a barrier located: the write goes on in
   * microtasks, which one yield runs all of), and every YIELD_WRITING_MS while a step needs
   * the event loop.
   */
  private yieldForWrite(): boolean {
    const c = this.driver.checkpointer;
    if (c === undefined || !c.writing) return false;
    const moved = pollHelperReplies() || c.takeProgress();
    const now = performance.now();
    if (moved) {
      this.lastWriteYield = now;
      return true;
    }
    if (!c.needsEventLoop) return false;
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

  /**
   * Sleeps until the gate rings (input, a command) or `ms` passes, capped by the next due
   * wake-up and by the next batch the buffer timeout flushes (unless `quiesced`: then nothing
   * is ticked or batched any more). `hasInput` is the final check after arming (see Gate.arm).
   */
  private async park(ms: number, hasInput: () => boolean, quiesced = false): Promise<void> {
    const task = this.task;
    if (!quiesced) {
      const due = task.output ? task.output.flushDue(performance.now(), task.plan.settings.bufferTimeoutMs) : Infinity;
      if (due !== Infinity) ms = Math.min(ms, Math.max(0, due - performance.now()));
      const timeDue = task.time.nextDue;
      if (timeDue !== Infinity) ms = Math.min(ms, Math.max(0, timeDue - Date.now()));
    }
    task.gate.arm();
    if (task.commands.length > 0 || hasInput()) task.gate.disarm();
    else await task.gate.park(ms);
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

  async runSource(): Promise<void> {
    const task = this.task;
    const { reader, counter, node } = task.source!;
    const batchSize = task.plan.settings.batchSize;
    const output = task.output;
    try {
      await reader.open?.();
    } catch (err) {
      throw operatorFailure(err, 'SOURCE_FAILED', 'source failed to open', node.uid ?? node.name, task.spec.subtask);
    }
    const nothing = () => false;
    for (let iter = 1; !this.done; iter++) {
      if (!(await this.serve())) continue;
      if (this.quiesced) {
        // Ended or stopped, waiting for the final checkpoint: nothing to read, only commands to serve.
        if (!this.done) await this.park(IDLE_PARK_MS, nothing, true);
        continue;
      }
      this.tick();
      let r;
      try {
        r = reader.poll(counter, output === undefined ? batchSize : output.pollSize(batchSize));
        if (typeof r !== 'string') r = await r;
      } catch (err) {
        throw operatorFailure(err, 'SOURCE_FAILED', 'source failed', node.uid ?? node.name, task.spec.subtask);
      }
      if (this.asyncOps !== undefined) await this.serveAsync(this.asyncOps);
      if (r === 'end') {
        await this.endOfData();
        if (task.checkpointing) send(task.spec, { type: 'source-ended' });
      } else if (output?.hasPending !== true) {
        // Pending output is drained at the head of the next iteration, never slept on.
        if (r === 'idle') await this.park(reader.idleMs ?? 10, nothing);
        else output?.flushDue(performance.now(), task.plan.settings.bufferTimeoutMs);
      }
      await this.afterFrame(iter);
    }
  }

  async runInputs(): Promise<void> {
    const task = this.task;
    const input = task.input!;
    const output = task.output;
    const bufferTimeoutMs = task.plan.settings.bufferTimeoutMs;
    const hasInput = () => input.poll() >= 0 || input.anyPoisoned();
    for (let iter = 1; !this.done; iter++) {
      if (!(await this.serve())) continue;
      if (this.done) break; // the final checkpoint completed: nothing to wait for
      if (!this.dataEnded) this.tick();
      if (this.asyncOps !== undefined) await this.serveAsync(this.asyncOps);
      if (this.batch.active) {
        this.deliver();
        await this.afterFrame(iter);
        continue;
      }
      const i = input.poll();
      // After the poll (its WRITE_POS load) and before the frame: a frame at or past a barrier's
      // cut is only visible once that barrier's mailbox is (see layout.ts), so it is seen here first.
      if (input.priorityChanged()) this.driver.onPriority();
      if (i < 0) {
        if (input.anyPoisoned()) throw new Cancelled();
        await this.park(IDLE_PARK_MS, hasInput);
        continue;
      }
      if (this.onFrame(i, input.sources[i])) await this.endOfData();
      if (output !== undefined && (iter & 7) === 0) output.flushDue(performance.now(), bufferTimeoutMs);
      await this.afterFrame(iter);
    }
  }

  /** One input frame of channel i, dispatched by type; true when it ended the last live input. */
  private onFrame(i: number, ch: FrameSource): boolean {
    const type = ch.frameType;
    const recording = this.driver.recording;
    if (recording !== undefined && recording[i] === 1 && (type === FRAME_RECORDS || type === FRAME_WATERMARK)) this.driver.record(i, ch);
    if (type === FRAME_RECORDS) {
      this.deliverRecords(i, ch);
    } else if (type === FRAME_WATERMARK) {
      const wm = ch.number(0);
      const idle = (ch.frameFlags & WATERMARK_FLAG_IDLE) !== 0;
      ch.release();
      this.onValve(this.valve!.onWatermark(i, wm, idle));
    } else if (type === FRAME_BARRIER) {
      const id = ch.number(0);
      const ts = ch.number(1);
      const flags = ch.frameFlags;
      ch.release();
      this.driver.barriers?.onBarrier(i, id, ts, flags);
    } else if (type === FRAME_CANCEL_BARRIER) {
      const id = ch.number(0);
      ch.release();
      this.driver.barriers?.onCancelBarrier(i, id);
    } else if (type === FRAME_END_OF_STREAM) {
      ch.release();
      const input = this.task.input!;
      input.markEnded(i);
      if (input.allEnded) return true;
      this.onValve(this.valve!.onEnded(i));
    } else {
      ch.release();
    }
    return false;
  }

  /** A record frame of channel i into the chain (see `deliver`). */
  private deliverRecords(i: number, ch: FrameSource): void {
    const records = this.decodeRecords(ch);
    this.batch.load(i, records, this.stamps);
    this.deliver();
  }

  /**
   * Delivers the current record frame in chunks of DELIVERY_CHUNK records, and leaves it
   * part-way when something should not wait for the rest: an unaligned barrier in a mailbox
   * (the snapshot is then taken before the next record; the records left are in-flight input,
   * see record-batch.ts), or a snapshot write that has not had the event loop for
   * YIELD_WRITING_MS. The loop comes back to it before it takes any other input.
   */
  private deliver(): void {
    const b = this.batch;
    const records = b.records;
    const n = records.length;
    let k = b.at;
    while (k < n) {
      const end = n - k > DELIVERY_CHUNK ? k + DELIVERY_CHUNK : n;
      this.deliverRange(b.channel, records, b.stamps, k, end);
      k = end;
      if (k < n && this.pauseDue()) break;
    }
    if (k === n) b.clear();
    else b.at = k;
  }

  /**
   * Between two chunks of a frame: true if the loop should take over before the next one (a
   * helper's reply was taken: the write it resumes, and the ack, wait for the loop's yield).
   */
  private pauseDue(): boolean {
    if (this.task.input!.priorityPending()) return true;
    const c = this.driver.checkpointer;
    if (c === undefined || !c.writing) return false;
    if (pollHelperReplies()) {
      c.noteProgress();
      return true;
    }
    return c.needsEventLoop && performance.now() - this.lastWriteYield >= YIELD_WRITING_MS;
  }

  /**
   * Records [from, to) of a frame of channel i through the chain. Three specialised loops, so
   * no record pays a branch for what its batch does not have (two inputs, event timestamps).
   */
  private deliverRange(i: number, records: unknown[], stamps: number[] | undefined, from: number, to: number): void {
    const task = this.task;
    const time = task.time;
    if (stamps === undefined) time.timestamp = NO_TIMESTAMP;
    const sides = task.inputSides;
    if (sides !== undefined) {
      const side = sides[i];
      const two = task.twoInputHead!;
      for (let k = from; k < to; k++) {
        if (stamps !== undefined) time.timestamp = stamps[k];
        two.collectSide(side, records[k]);
      }
    } else if (stamps === undefined) {
      const head = task.head;
      for (let k = from; k < to; k++) head.collect(records[k]);
    } else {
      const head = task.head;
      for (let k = from; k < to; k++) {
        time.timestamp = stamps[k];
        head.collect(records[k]);
      }
    }
  }

  /**
   * Decodes a record frame and frees its ring space (decoding copied everything out). The
   * batch's event timestamps, when it carries them, are left in `stamps`, index by index.
   */
  private decodeRecords(ch: FrameSource): unknown[] {
    const decoded = this.decoder.decode(ch.payload());
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
}
