/**
 * The task's loop: take input (from the source reader or the input gate), push it through the
 * chain, let backpressure (output drain) and the buffer timeout act, handle barriers and
 * commands, park when there is nothing to do.
 *
 * Ending: when all input data has ended, the operators finish (emit what they held back) and
 * end-of-stream goes downstream. Without checkpointing the task then ends. With it, the task
 * stays until the final checkpoint (taken once every source has ended) has completed, so the
 * last sink transactions commit only when a restore can no longer replay their records.
 *
 * The loop yields to the event loop every few iterations even when input never runs dry, so
 * control messages, timers and async I/O of this worker keep being served.
 */
import { createBarrierHandler, type BarrierHandler } from '../core/checkpoint/barrier-handler.js';
import { BatchDecoder } from '../core/channel/codec.js';
import {
  BARRIER_FLAG_FINAL,
  FRAME_BARRIER,
  FRAME_CANCEL_BARRIER,
  FRAME_END_OF_STREAM,
  FRAME_RECORDS,
} from '../core/channel/layout.js';
import { EddyError, toFailure } from '../core/failure.js';
import { operatorFailure } from '../core/operators/failures.js';
import type { TaskOutcome } from '../core/runtime/messages.js';
import { TaskCheckpointer } from './checkpointing.js';
import { listenForCommands, send } from './control-port.js';
import type { StreamTask } from './task.js';

const YIELD_EVERY = 32;
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
    if (loop.checkpointer && task.spec.restore) await loop.checkpointer.restore(task.spec.restore);
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
  /** Input data ended and the operators finished. */
  private dataEnded = false;
  /** Id of the final checkpoint's barrier, once seen. */
  private finalId = -1;
  /** When the first barrier of the checkpoint being aligned arrived (performance.now). */
  private alignStart = 0;

  constructor(private readonly task: StreamTask) {
    this.checkpointer = task.checkpointing ? new TaskCheckpointer(task) : undefined;
    if (task.checkpointing && task.input) {
      const input = task.input;
      this.barriers = createBarrierHandler(task.plan.settings.mode === 'exactly-once' ? 'exactly-once' : 'at-least-once', input.channels.length, {
        block: (i) => {
          input.blocked[i] = true;
        },
        unblockAll: () => input.blocked.fill(false),
        triggerCheckpoint: (id) => this.checkpoint(id, id === this.finalId),
        abortCheckpoint: (id, reason) => {
          this.task.output?.broadcastControl(FRAME_CANCEL_BARRIER, 0, 1, id);
          send(this.task.spec, { type: 'decline', id, reason: `${this.task.name}: ${reason}` });
        },
      });
    }
  }

  /** True once the task may end: data ended and, under checkpointing, the final checkpoint completed. */
  private get done(): boolean {
    return this.dataEnded && (!this.checkpointer || this.checkpointer.finalNotified);
  }

  /**
   * Snapshot at the barrier: capture state, send the barrier on (batched records before it
   * go first), then write the snapshot off the loop.
   */
  private checkpoint(id: number, final: boolean): void {
    for (const op of this.task.operators) op.snapshotState?.(id);
    const captured = this.checkpointer!.capture(id);
    this.task.output?.broadcastControl(FRAME_BARRIER, final ? BARRIER_FLAG_FINAL : 0, 2, id, Date.now());
    // Alignment: from the first barrier of this checkpoint to the last (0 at a source).
    this.checkpointer!.persist(captured, this.task.input ? performance.now() - this.alignStart : 0);
  }

  private async handleCommands(): Promise<void> {
    const q = this.task.commands;
    while (q.length > 0) {
      const cmd = q.shift()!;
      if (cmd.type === 'trigger') {
        if (cmd.final) this.finalId = cmd.id;
        this.checkpoint(cmd.id, cmd.final);
      } else if (cmd.type === 'notify') {
        await this.checkpointer?.notifyComplete(cmd.id, cmd.final);
        for (const op of this.task.operators) op.notifyCheckpointComplete?.(cmd.id);
      }
      // 'abort': sealed transactions stay and are committed with the next completed checkpoint.
    }
  }

  /** Input data ended: let operators emit what they hold, then end-of-stream downstream. */
  private async endOfData(): Promise<void> {
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
    const s = task.plan.settings;
    const output = task.output;
    try {
      await reader.open?.();
    } catch (err) {
      throw operatorFailure(err, 'SOURCE_FAILED', 'source failed to open', node.uid ?? node.name, task.spec.subtask);
    }
    for (let iter = 1; !this.done; iter++) {
      if (task.cancelled) throw new Cancelled();
      if (task.commands.length > 0) await this.handleCommands();
      if (this.dataEnded) {
        // Ended, waiting for the final checkpoint: nothing to read, only commands to serve.
        task.gate.arm();
        if (task.commands.length > 0 || this.done) task.gate.disarm();
        else await task.gate.park(IDLE_PARK_MS);
        continue;
      }
      let r;
      try {
        r = reader.poll(counter, s.batchSize);
        if (typeof r !== 'string') r = await r;
      } catch (err) {
        throw operatorFailure(err, 'SOURCE_FAILED', 'source failed', node.uid ?? node.name, task.spec.subtask);
      }
      if (output) {
        if (output.hasPending) await output.drain(this.isCancelled);
        const due = output.flushDue(performance.now(), s.bufferTimeoutMs);
        if (r === 'idle') await this.parkSource(Math.min(reader.idleMs ?? 10, due === Infinity ? Infinity : Math.max(0, due - performance.now())));
      } else if (r === 'idle') await this.parkSource(reader.idleMs ?? 10);
      if (r === 'end') {
        await this.endOfData();
        if (this.checkpointer) send(task.spec, { type: 'source-ended' });
      }
      if (iter % METRICS_EVERY === 0) task.publishMetrics();
      if (iter % YIELD_EVERY === 0) await yieldToEventLoop();
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
    let nextDue = Infinity;
    for (let iter = 1; !this.done; iter++) {
      if (task.cancelled) throw new Cancelled();
      if (task.commands.length > 0) {
        await this.handleCommands();
        if (this.done) break; // the final checkpoint completed: nothing to wait for
      }
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
        else await task.gate.park(nextDue === Infinity ? IDLE_PARK_MS : Math.max(0, nextDue - performance.now()));
        continue;
      }
      const ch = input.channels[i];
      const type = ch.frameType;
      if (type === FRAME_RECORDS) {
        const records = decoder.decode(ch.payload());
        // Decoding copied everything out of the ring: free the space for the producer now.
        ch.release();
        for (let k = 0; k < records.length; k++) head.collect(records[k]);
      } else if (type === FRAME_BARRIER) {
        const id = ch.number(0);
        const ts = ch.number(1);
        if ((ch.frameFlags & BARRIER_FLAG_FINAL) !== 0) this.finalId = id;
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
      } else {
        // Watermarks come with event time; nothing to do with them yet.
        ch.release();
      }
      if (output) {
        if (output.hasPending) await output.drain(this.isCancelled);
        if ((iter & 7) === 0) output.flushDue(performance.now(), s.bufferTimeoutMs);
      }
      if (iter % METRICS_EVERY === 0) task.publishMetrics();
      if (iter % YIELD_EVERY === 0) await yieldToEventLoop();
    }
  }
}
