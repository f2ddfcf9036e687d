/**
 * The piscina worker entry: one call runs one task for the life of the job (or until it fails
 * or is cancelled). A task ends with an outcome, never a rejection: a Failure is plain data
 * that survives the thread boundary, while a rejection loses its code. A rejected task
 * therefore means the worker itself died.
 */
import { toFailure } from '../core/failure.js';
import { announceThread } from '../core/thread-roles.js';
import type { TaskOutcome, TaskSpec } from '../core/runtime/messages.js';
import { PARSED_NOTE } from '../core/sql/parse-once.js';
import { runTask } from './run-task.js';
import { flushStdio } from './stdio.js';
import { StreamTask } from './task.js';

/**
 * Counters are also published on a timer, so a task whose batches are slow (a slow sink)
 * still shows live figures; the run loop publishes every METRICS_EVERY iterations besides.
 */
const PUBLISH_INTERVAL_MS = 100;

export default async function runTaskEntry(spec: TaskSpec): Promise<TaskOutcome> {
  try {
    let task: StreamTask;
    try {
      // The job's `import 'eddy'` leaves SQL out (core/index.ts): it is loaded here when the main
      // thread's build used it (its parsed statements are in the notes), before this thread's build
      // calls env.sql. A SQL-free job's threads never import the planner (about 55 modules).
      if (spec.buildNotes[PARSED_NOTE] !== undefined) await import('../core/sql/index.js');
      task = await StreamTask.create(spec);
    } catch (err) {
      return { status: 'failed', failure: toFailure(err, { code: 'INTERNAL', subtask: spec.subtask, context: 'task failed to start' }) };
    }
    announceThread({ role: 'task', name: `${task.vertex.name}#${spec.subtask}`, keyed: task.nodes.some((n) => n.keyed !== undefined) });
    const publisher = setInterval(() => task.publishMetrics(), PUBLISH_INTERVAL_MS);
    try {
      return await runTask(task);
    } finally {
      clearInterval(publisher);
    }
  } finally {
    // What the task printed (print sink, console.log in a user function) is out before the
    // main thread learns that the task ended.
    await flushStdio();
    // The outcome travels on piscina's port and reports on ours; ports are not ordered with
    // each other, so the main thread waits for this last message before it trusts that it
    // has every report.
    spec.port.postMessage({ type: 'done' });
  }
}
