/**
 * What a task waits on besides input: due wake-ups (periodic watermarks, processing-time
 * timers), the gate it parks on when there is nothing to do, and async operators that cannot
 * take more input (async I/O at capacity).
 */
import type { ChainOperator } from '../core/operators/operator.js';
import { Cancelled } from './cancelled.js';
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
  else await task.gate.park(ms);
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
