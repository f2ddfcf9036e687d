/**
 * The task's loop: take input (from the source reader or the input gate), push it through the
 * chain, let backpressure (output drain) and the buffer timeout act, park when there is
 * nothing to do, and end with end-of-stream on every output.
 *
 * The loop yields to the event loop every few iterations even when input never runs dry, so
 * control messages, timers and async I/O of this worker keep being served.
 */
import { BatchDecoder } from '../core/channel/codec.js';
import { FRAME_END_OF_STREAM, FRAME_RECORDS } from '../core/channel/layout.js';
import { EddyError, toFailure } from '../core/failure.js';
import { displayName } from '../core/graph/stream-graph.js';
import { operatorFailure } from '../core/operators/failures.js';
import type { TaskOutcome } from '../core/runtime/messages.js';
import type { StreamTask } from './task.js';

const YIELD_EVERY = 32;
const METRICS_EVERY = 64;

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

class Cancelled extends Error {}

export async function runTask(task: StreamTask): Promise<TaskOutcome> {
  let failed = false;
  try {
    for (const op of task.operators) await op.open();
    if (task.source) await runSource(task);
    else await runInputs(task);
    if (task.cancelled) throw new Cancelled();
    // End of input: each operator emits what it held back, head first so the later ones see it.
    for (const op of task.operators) await op.finish();
    if (task.output) {
      task.output.flushAll();
      await task.output.endOfStream(() => task.cancelled);
    }
    task.publishMetrics();
    return { status: 'finished' };
  } catch (err) {
    failed = true;
    task.publishMetrics();
    if (err instanceof Cancelled || (err instanceof EddyError && err.code === 'CANCELLED') || task.cancelled) return { status: 'cancelled' };
    return { status: 'failed', failure: toFailure(err, { code: 'INTERNAL', operatorUid: task.vertex.name, subtask: task.spec.subtask, context: 'task failed' }) };
  } finally {
    for (const op of task.operators) {
      try {
        await op.close(failed);
      } catch {
        // Closing after a failure must not hide the failure that caused it.
      }
    }
    if (task.source) {
      try {
        await task.source.reader.close?.();
      } catch {
        /* as above */
      }
    }
  }
}

async function runSource(task: StreamTask): Promise<void> {
  const { reader, counter, node } = task.source!;
  const uid = displayName(node);
  const s = task.plan.settings;
  const output = task.output;
  const isCancelled = () => task.cancelled;
  try {
    await reader.open?.();
  } catch (err) {
    throw operatorFailure(err, 'SOURCE_FAILED', 'source failed to open', uid, task.spec.subtask);
  }
  for (let iter = 1; ; iter++) {
    if (task.cancelled) throw new Cancelled();
    let r = reader.poll(counter, s.batchSize);
    if (typeof r !== 'string') r = await r;
    if (output) {
      if (output.hasPending) await output.drain(isCancelled);
      const due = output.flushDue(performance.now(), s.bufferTimeoutMs);
      if (r === 'idle') {
        const wait = Math.min(reader.idleMs ?? 10, due === Infinity ? Infinity : Math.max(0, due - performance.now()));
        task.gate.arm();
        await task.gate.park(wait);
      }
    } else if (r === 'idle') {
      task.gate.arm();
      await task.gate.park(reader.idleMs ?? 10);
    }
    if (r === 'end') return;
    if (iter % METRICS_EVERY === 0) task.publishMetrics();
    if (iter % YIELD_EVERY === 0) await yieldToEventLoop();
  }
}

async function runInputs(task: StreamTask): Promise<void> {
  const input = task.input!;
  const output = task.output;
  const head = task.head;
  const s = task.plan.settings;
  const decoder = new BatchDecoder();
  const isCancelled = () => task.cancelled;
  let nextDue = Infinity;
  for (let iter = 1; !input.allEnded; iter++) {
    if (task.cancelled) throw new Cancelled();
    const i = input.poll();
    if (i < 0) {
      if (input.anyPoisoned()) throw new Cancelled();
      if (output) {
        if (output.hasPending) {
          await output.drain(isCancelled);
          continue;
        }
        nextDue = output.flushDue(performance.now(), s.bufferTimeoutMs);
      }
      await input.waitForInput(nextDue === Infinity ? undefined : Math.max(0, nextDue - performance.now()));
      continue;
    }
    const ch = input.channels[i];
    const type = ch.frameType;
    if (type === FRAME_RECORDS) {
      const records = decoder.decode(ch.payload());
      // Decoding copied everything out of the ring: free the space for the producer now.
      ch.release();
      for (let k = 0; k < records.length; k++) head.collect(records[k]);
    } else if (type === FRAME_END_OF_STREAM) {
      ch.release();
      input.markEnded(i);
    } else {
      // Barriers and watermarks come with checkpointing and event time; nothing to do yet.
      ch.release();
    }
    if (output) {
      if (output.hasPending) await output.drain(isCancelled);
      if (output.channels.length > 0 && (iter & 7) === 0) output.flushDue(performance.now(), s.bufferTimeoutMs);
    }
    if (iter % METRICS_EVERY === 0) task.publishMetrics();
    if (iter % YIELD_EVERY === 0) await yieldToEventLoop();
  }
}
