/**
 * A task's life around its loop: listen for commands, restore state (and in-flight data), open
 * the operators, prepare for checkpoints, run the loop, then close everything, reporting the
 * outcome as data ('finished', 'cancelled', or 'failed' with the failure).
 */
import { EddyError, toFailure } from '../core/failure.js';
import type { TaskOutcome } from '../core/runtime/messages.js';
import type { ValveState } from '../core/time/watermark-valve.js';
import { Cancelled } from './cancelled.js';
import { listenForCommands } from './control-port.js';
import { wallNow } from '../core/channel/time-account.js';
import { TaskLoop } from './run-loop.js';
import type { StreamTask } from './task.js';

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
    if (task.checkpointing && task.spec.settings.unaligned) loop.driver.warmUnaligned();
    task.runningAt = wallNow();
    await loop.run();
    if (task.cancelled) throw new Cancelled();
    if (task.output) for (const c of task.output.channels) c.producer.close();
    task.publishMetrics();
    return { status: 'finished' };
  } catch (err) {
    failed = true;
    task.publishMetrics();
    if (err instanceof Cancelled || (err instanceof EddyError && err.code === 'CANCELLED') || task.cancelled)
      return { status: 'cancelled' };
    return {
      status: 'failed',
      failure: toFailure(err, { code: 'INTERNAL', operatorUid: task.vertex.name, subtask: task.spec.subtask, context: 'task failed' }),
    };
  } finally {
    stopListening();
    if (checkpointer) await checkpointer.settle();
    for (const op of task.operators) await quietly(() => op.close(failed));
    await quietly(() => task.source?.reader.close?.());
    for (const n of task.nodes) await quietly(() => n.keyed?.dispose());
  }
}
