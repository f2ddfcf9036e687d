/**
 * What a task waits on besides input: due wake-ups (periodic watermarks, processing-time
 * timers), the gate it parks on when there is nothing to do, and async operators that cannot
 * take more input (async I/O at capacity).
 */
import type { RingProducer } from '../core/channel/ring.js';
import type { ChainOperator } from '../core/operators/operator.js';
import { Cancelled } from './cancelled.js';
import { yieldToEventLoop } from './event-loop-turns.js';
import type { SourceTrigger } from './source-trigger.js';
import type { StreamTask } from './task.js';

/** Serves due wake-ups (periodic watermarks, processing-time timers). */
export function serveDueWakeUps(task: StreamTask): void {
  const time = task.time;
  if (time.nextDue === Infinity) return;
  const now = Date.now();
  if (now >= time.nextDue) time.tick(now);
}

/**
 * Sleeps until the gate rings (input, a command) or `ms` passes, capped by the next due
 * wake-up and by the next batch the buffer timeout flushes (unless `quiesced`: then nothing
 * is ticked or batched any more), and at a source by its armed trigger's due time. `hasInput`
 * is the final check after arming (see Gate.arm).
 */
export async function park(
  task: StreamTask,
  ms: number,
  hasInput: () => boolean,
  quiesced = false,
  trigger?: SourceTrigger,
): Promise<void> {
  if (!quiesced) {
    const due = task.output ? task.output.flushDue(performance.now(), task.plan.settings.bufferTimeoutMs) : Infinity;
    if (due !== Infinity) ms = Math.min(ms, Math.max(0, due - performance.now()));
    const timeDue = task.time.nextDue;
    if (timeDue !== Infinity) ms = Math.min(ms, Math.max(0, timeDue - Date.now()));
  }
  task.gate.arm();
  // A trigger armed after arm() rings the gate; one armed before bounds the sleep.
  if (trigger !== undefined) ms = trigger.waitMs(ms);
  if (task.commands.length > 0 || hasInput() || ms === 0) task.gate.disarm();
  else {
    await task.gate.park(trigger?.waitBegan('parked', ms) ?? ms);
    trigger?.waitEnded();
  }
}

/**
 * The event loop of a source blocked for output space gets a turn at least this often (ms),
 * and no single blocking wait is longer: its timers (the metrics publisher), an async reader's
 * I/O and stdio wait at most this long while the source is backpressured.
 */
const BLOCKING_TURN_MS = 10;

/**
 * How a backpressured source waits for ring space: its thread blocked in Atomics.wait on its
 * gate (RingProducer.blockForSpaceOrWake), not its event loop in Atomics.waitAsync. The wake-up
 * that matters, the armed trigger's due time, then runs the source at once, to the microsecond:
 * an async wait's timeout is a libuv timer in whole milliseconds, resolved by a task of the
 * loop behind whatever else it has queued. Nothing the drain waits for needs the loop: the
 * consumer and the main thread ring the gate, and commands are taken off the port
 * synchronously (control-port.ts, takeCommands). The loop gets a turn every
 * BLOCKING_TURN_MS all the same, and while the task writes a snapshot (its steps run on the
 * loop) the drain waits async, as every other task does.
 */
export class BlockingDrain {
  private lastTurn = performance.now();

  constructor(
    private readonly writing: () => boolean,
    /** The source's armed trigger, which records its waits in traced runs; undefined without checkpointing. */
    private readonly trigger?: SourceTrigger,
    /** The longest blocking wait and the most time between turns (ms). */
    readonly maxMs = BLOCKING_TURN_MS,
  ) {}

  /**
   * Waits once for `bytes` of space on `producer` (or a ring of `gate` after `seq`, or `ms`):
   * blocked, at most maxMs, unless a snapshot is being written; then through the event loop.
   * Undefined when it blocked (nothing to await).
   */
  wait(producer: RingProducer, bytes: number, gate: Int32Array, seq: number, ms: number): Promise<void> | undefined {
    if (this.writing()) return this.waitAsync(producer, bytes, gate, seq, ms);
    const bound = Math.min(ms, this.maxMs);
    producer.blockForSpaceOrWake(bytes, gate, seq, this.trigger?.waitBegan('blocked', bound) ?? bound);
    this.trigger?.waitEnded();
    return undefined;
  }

  private async waitAsync(producer: RingProducer, bytes: number, gate: Int32Array, seq: number, ms: number): Promise<void> {
    await producer.waitForSpaceOrWake(bytes, gate, seq, this.trigger?.waitBegan('async', ms) ?? ms);
    this.trigger?.waitEnded();
  }

  /** The event loop has not had a turn from the drain for maxMs. */
  turnDue(): boolean {
    return performance.now() - this.lastTurn >= this.maxMs;
  }

  /** A turn of the event loop (timers, I/O, immediates), then back. */
  async turn(): Promise<void> {
    this.trigger?.turnBegan();
    await yieldToEventLoop();
    this.trigger?.turnEnded();
    this.lastTurn = performance.now();
  }
}

/** The chained operators that complete work off the loop (async I/O); undefined when none. */
export function asyncOperators(task: StreamTask): ChainOperator[] | undefined {
  const ops = task.operators.filter((op) => op.emitCompleted !== undefined);
  return ops.length > 0 ? ops : undefined;
}

/**
 * Async operators: emit what completed, and while one cannot take more input, wait for its
 * completions (backpressure), emitting them and draining the output as they come.
 */
export async function serveAsyncOperators(task: StreamTask, ops: ChainOperator[], isCancelled: () => boolean): Promise<void> {
  const output = task.output;
  for (const op of ops) {
    op.emitCompleted!();
    for (let w = op.backpressure!(); w !== undefined; w = op.backpressure!()) {
      if (output?.hasPending) await output.drain(isCancelled);
      await w;
      if (isCancelled()) throw new Cancelled();
      op.emitCompleted!();
    }
  }
}
