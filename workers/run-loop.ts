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
 * A record frame is delivered in chunks (64 records, fewer at a slow stage: about 0.5 ms) and may be left part-way (an unaligned
 * barrier waits, a snapshot write wants the event loop); the next iteration then serves that
 * and goes on with the same frame before it takes any other input (record-delivery.ts).
 * A backpressured task waits in drain, and a command interrupts that wait: between input
 * frames its state is consistent, so a trigger or a notify is served at once instead of
 * when the output ring frees up. Checkpoints themselves belong to the driver
 * (checkpoint-driver.ts); the loop hands it barriers and commands.
 *
 * Around it: the task's life (run-task.ts), record delivery (record-delivery.ts), when the
 * loop yields to the event loop (event-loop-turns.ts), parking, wake-ups and async operators
 * (waits.ts), the source reader's polls (source-poll.ts).
 */
import {
  FRAME_BARRIER,
  FRAME_CANCEL_BARRIER,
  FRAME_END_OF_STREAM,
  FRAME_RECORDS,
  FRAME_WATERMARK,
  WATERMARK_FLAG_IDLE,
} from '../core/channel/layout.js';
import { WatermarkValve, type ValveState } from '../core/time/watermark-valve.js';
import { checkpointTraceOn } from '../core/checkpoint/gc-pauses.js';
import type { ChainOperator } from '../core/operators/operator.js';
import { Cancelled } from './cancelled.js';
import { TaskCheckpointDriver } from './checkpoint-driver.js';
import { send, takeCommands } from './control-port.js';
import { EventLoopTurns, yieldToEventLoop } from './event-loop-turns.js';
import type { FrameSource } from './in-flight.js';
import { InputDebloat } from './input-debloat.js';
import { RecordDelivery } from './record-delivery.js';
import { SourcePoll } from './source-poll.js';
import { SourceTrigger } from './source-trigger.js';
import { wallNow } from '../core/channel/time-account.js';
import type { StreamTask } from './task.js';
import { asyncOperators, BlockingDrain, park, serveAsyncOperators, serveDueWakeUps } from './waits.js';

const METRICS_EVERY = 64;
/** How long an idle task sleeps at most between checks when nothing rings its gate. */
const IDLE_PARK_MS = 200;

export class TaskLoop {
  readonly driver: TaskCheckpointDriver;
  private readonly isCancelled = () => this.task.cancelled;
  /** A source's armed trigger (periodic checkpoints the source takes itself when due); undefined elsewhere. */
  private readonly trigger: SourceTrigger | undefined;
  /**
   * A command (taken off the port: its gate was rung with it), a priority event or a source's
   * armed trigger falling due waits: a drain returns to let the loop serve it.
   */
  private readonly interruptsDrain = () => {
    takeCommands(this.task.spec, this.task.commands);
    return this.task.commands.length > 0 || this.task.input?.priorityPending() === true || this.trigger?.isDue() === true;
  };
  /** The watermark over the task's input channels. */
  private readonly valve: WatermarkValve | undefined;
  /** Input data ended and the operators finished. */
  private dataEnded = false;
  /** Chained operators that complete work off the loop (async I/O); undefined when none. */
  private readonly asyncOps: ChainOperator[] | undefined;
  private readonly delivery: RecordDelivery;
  private readonly turns: EventLoopTurns;
  /** A source's drain blocks its thread while backpressured (see BlockingDrain); undefined elsewhere. */
  private readonly blocking: BlockingDrain | undefined;
  /** Buffer debloating of the input rings (--buffer-debloat-target); undefined when off. */
  private readonly debloat: InputDebloat | undefined;

  constructor(private readonly task: StreamTask) {
    this.valve = task.input ? new WatermarkValve(task.input.channels.length) : undefined;
    this.trigger = task.source !== undefined && task.checkpointing ? new SourceTrigger(task.spec.gate, checkpointTraceOn()) : undefined;
    this.delivery = new RecordDelivery(task, () => task.input!.priorityPending() || this.turns.pauseForWrite());
    this.driver = new TaskCheckpointDriver(task, this.valve, this.delivery.batch, this.trigger);
    this.turns = new EventLoopTurns(this.driver.checkpointer);
    this.asyncOps = asyncOperators(task);
    // A source's chained async operators complete on the event loop: those keep the async wait.
    if (task.source !== undefined && this.asyncOps === undefined)
      this.blocking = new BlockingDrain(() => this.driver.checkpointer?.writing === true, this.trigger);
    const target = task.plan.settings.bufferDebloatTargetMs;
    if (target !== undefined && task.input)
      this.debloat = new InputDebloat(task.input, target, task.plan.settings.ringCapacity, () => task.idleMs());
  }

  /**
   * True once the task may end: data ended (or a stop-with-savepoint was taken) and, under
   * checkpointing, the final checkpoint completed.
   */
  private get done(): boolean {
    if (!this.task.checkpointing) return this.dataEnded;
    return (this.dataEnded || this.driver.stopId >= 0) && this.driver.checkpointer!.finalNotified;
  }

  /** Nothing more to read: input ended, or stopped by a savepoint. */
  private get quiesced(): boolean {
    return this.dataEnded || this.driver.stopId >= 0;
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

  run(): Promise<void> {
    return this.task.source ? this.runSource() : this.runInputs();
  }

  /**
   * The head of every iteration: fail fast on cancellation, serve commands, write pending
   * output. False when a command interrupted the drain: the loop comes round to serve it and
   * takes no input while output is still pending (that bounds memory, see output.ts).
   */
  private async serve(): Promise<boolean> {
    const task = this.task;
    if (task.cancelled) throw new Cancelled();
    // Read before the port is drained: an armed trigger due by then goes after every command
    // posted before it was armed (see ArmedTrigger.takeDue).
    const now = this.trigger === undefined ? 0 : wallNow();
    takeCommands(task.spec, task.commands);
    this.trigger?.takeDue(now, task.commands);
    if (task.commands.length > 0) await this.driver.handleCommands();
    // No frame is processed here, so a barrier may be taken in (and snapshot) before any ordering check.
    if (task.input?.priorityChanged() === true) this.driver.onPriority();
    const output = task.output;
    return (
      output === undefined ||
      !output.hasPending ||
      (await output.drain(this.isCancelled, this.interruptsDrain, this.trigger?.waitMs, this.blocking))
    );
  }

  /** The tail of every iteration: metrics now and then, debloating, and a turn of the event loop when due. */
  private async afterFrame(iter: number): Promise<void> {
    if (iter % METRICS_EVERY === 0) this.task.publishMetrics();
    if (this.debloat !== undefined) this.debloat.tick(performance.now());
    if (this.turns.due(iter)) await yieldToEventLoop();
  }

  /**
   * Input data ended: event time jumps to +Infinity so every pending window and event-time
   * timer fires, operators emit what they hold, then end-of-stream goes downstream — all
   * before the final checkpoint, so what they emit is committed with it.
   */
  private async endOfData(): Promise<void> {
    this.task.time.watermark(-1, Infinity);
    for (const op of this.task.operators) await op.finish();
    this.trigger?.endOfInput();
    if (this.task.output) {
      this.task.output.flushAll();
      this.task.output.broadcastControl(FRAME_END_OF_STREAM, 0, 0);
      // The last drain serves commands and the armed trigger as every drain does: behind a full
      // ring it can take as long as the consumer needs for a whole ring, and a checkpoint due
      // meanwhile (an unaligned barrier overtakes what is still pending, end-of-stream included)
      // would wait for all of it.
      while (!(await this.serve()));
    }
    this.dataEnded = true;
  }

  private async runSource(): Promise<void> {
    const task = this.task;
    const output = task.output;
    const source = new SourcePoll(task);
    await source.open();
    const nothing = () => false;
    for (let iter = 1; !this.done; iter++) {
      if (!(await this.serve())) continue;
      if (this.quiesced) {
        // Ended or stopped, waiting for the final checkpoint: nothing to read, only commands to serve.
        if (!this.done) await park(task, IDLE_PARK_MS, nothing, true, this.trigger);
        continue;
      }
      serveDueWakeUps(task);
      let r = source.poll();
      if (typeof r !== 'string') r = await r;
      if (this.asyncOps !== undefined) await serveAsyncOperators(task, this.asyncOps, this.isCancelled);
      if (r === 'end') {
        await this.endOfData();
        if (task.checkpointing) send(task.spec, { type: 'source-ended' });
      } else if (output?.hasPending !== true) {
        // Pending output is drained at the head of the next iteration, never slept on.
        if (r === 'idle') await park(task, source.idleMs, nothing, false, this.trigger);
        else output?.flushDue(performance.now(), task.plan.settings.bufferTimeoutMs);
      }
      await this.afterFrame(iter);
    }
  }

  private async runInputs(): Promise<void> {
    const task = this.task;
    const input = task.input!;
    const output = task.output;
    const bufferTimeoutMs = task.plan.settings.bufferTimeoutMs;
    const hasInput = () => input.poll() >= 0 || input.anyPoisoned();
    for (let iter = 1; !this.done; iter++) {
      if (!(await this.serve())) continue;
      if (this.done) break; // the final checkpoint completed: nothing to wait for
      if (!this.dataEnded) serveDueWakeUps(task);
      if (this.asyncOps !== undefined) await serveAsyncOperators(task, this.asyncOps, this.isCancelled);
      if (this.delivery.batch.active) {
        this.delivery.deliver();
        await this.afterFrame(iter);
        continue;
      }
      const i = input.poll();
      // After the poll (its WRITE_POS load) and before the frame: a frame at or past a barrier's
      // cut is only visible once that barrier's mailbox is (see layout.ts), so it is seen here first.
      if (input.priorityChanged()) this.driver.onPriority();
      if (i < 0) {
        if (input.anyPoisoned()) throw new Cancelled();
        // After end of data no wake-up is served (nothing may follow END_OF_STREAM), so one left
        // due must not cap the park: it would stay in the past and the loop would spin.
        await park(task, IDLE_PARK_MS, hasInput, this.dataEnded);
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
      this.delivery.deliverFrame(i, ch);
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

  /** The inputs' combined watermark advanced (or all went idle): tell the chain. */
  private onValve(r: number | 'idle' | undefined): void {
    if (r === undefined) return;
    if (r === 'idle') this.task.time.idle(-1);
    else this.task.time.watermark(-1, r);
  }
}
