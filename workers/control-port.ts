/**
 * The task's side of its MessagePort to the main thread: reports out (collected records,
 * checkpoint acks, source end), commands in (trigger, notify-complete, abort). A command
 * rings the task's own gate, so a task parked on empty inputs wakes to handle it; a busy task
 * takes its commands synchronously (`takeCommands`) instead of waiting for its next yield.
 */
import { createHash } from 'node:crypto';
import type { ConnectorContext } from '../core/connectors/types.js';
import { displayName, type StreamNode } from '../core/graph/stream-graph.js';
import { receiveMessageOnPort } from 'node:worker_threads';
import type { TaskCommand, TaskReport, TaskSpec } from '../core/runtime/messages.js';

export function connectorContext(spec: TaskSpec, node: StreamNode, parallelism: number): ConnectorContext {
  const operatorUid = displayName(node);
  return {
    subtaskIndex: spec.subtask,
    parallelism,
    operatorUid,
    attempt: spec.attempt,
    jobKey: createHash('sha256').update(spec.checkpointDir ?? spec.jobPath).digest('hex').slice(0, 12),
    report(kind: string, payload: unknown) {
      send(spec, { type: 'report', operatorUid, kind, payload });
    },
  };
}

export function send(spec: TaskSpec, report: TaskReport): void {
  spec.port.postMessage(report);
}

export function listenForCommands(spec: TaskSpec, queue: TaskCommand[], wake: () => void): () => void {
  const onMessage = (cmd: TaskCommand) => {
    queue.push(cmd);
    wake();
  };
  spec.port.on('message', onMessage);
  return () => spec.port.off('message', onMessage);
}

/**
 * Moves commands already queued on the port into `queue`, without waiting for the event loop:
 * a task busy with records yields to its event loop only now and then, and a checkpoint
 * trigger waiting for that yield would delay the barrier (and every downstream alignment).
 * About 35 ns when the port is empty.
 */
export function takeCommands(spec: TaskSpec, queue: TaskCommand[]): void {
  for (let m = receiveMessageOnPort(spec.port); m !== undefined; m = receiveMessageOnPort(spec.port)) queue.push(m.message as TaskCommand);
}
