/**
 * Every shape that crosses a thread boundary: what the main thread gives a task, what a task
 * reports back, and how a task ends. Plain data only (structured clone).
 */
import type { MessagePort } from 'node:worker_threads';
import type { CheckpointPhases, SnapshotKind, SubtaskAck } from '../checkpoint/coordinator.js';
import type { CheckpointDecline } from '../checkpoint/decline.js';
import type { ChannelStateHandle, OperatorStateHandles } from '../checkpoint/metadata.js';
import type { Failure } from '../failure.js';
import type { ResolvedSettings } from './settings.js';

export interface InputChannelSpec {
  edge: number;
  producerSubtask: number;
  ring: SharedArrayBuffer;
  /** The producing task's gate: the consumer rings it when it frees space the producer waits for. */
  producerGate: SharedArrayBuffer;
}

export interface OutputEdgeSpec {
  edge: number;
  /** One ring per consumer subtask this producer writes to, in consumer-subtask order. */
  rings: SharedArrayBuffer[];
  /** The gate of the consumer task behind each ring. */
  gates: SharedArrayBuffer[];
}

export interface TaskSpec {
  jobPath: string;
  args: Record<string, string>;
  settings: ResolvedSettings;
  /** The job graph the main thread planned; the worker checks it rebuilt the same one. */
  fingerprint: string;
  vertex: number;
  subtask: number;
  attempt: number;
  gate: SharedArrayBuffer;
  control: SharedArrayBuffer;
  metrics: SharedArrayBuffer;
  /** Metrics slot of every chained operator, head first. */
  metricsSlots: number[];
  inputs: InputChannelSpec[];
  outputs: OutputEdgeSpec[];
  /** Checkpoint storage directory (when checkpointing). */
  checkpointDir?: string;
  restore?: RestoreSpec;
  /** The job's local working directory (LMDB environments), when the state backend needs one. */
  localDir?: string;
  /** Worker ↔ main: reports out, commands in. */
  port: MessagePort;
}

/** Task → main. */
export type TaskReport =
  | { type: 'report'; operatorUid: string; kind: string; payload: unknown }
  | { type: 'ack'; id: number; acks: SubtaskAck[]; phases: CheckpointPhases; channels?: ChannelStateHandle }
  | ({ type: 'decline' } & CheckpointDecline)
  | { type: 'source-ended' }
  | { type: 'done' };

/** Main → task. */
export type TaskCommand =
  | { type: 'trigger'; id: number; timestamp: number; final: boolean; kind: SnapshotKind; stop: boolean; unaligned: boolean }
  | { type: 'notify'; id: number; final: boolean }
  | { type: 'abort'; id: number };

/** What a task restores from: the checkpoint's operators (the task picks its own by uid). */
export interface RestoreSpec {
  checkpointDir: string;
  checkpointId: number;
  operators: OperatorStateHandles[];
  /** In-flight data of an unaligned checkpoint, per task (each task replays its own). */
  channels?: ChannelStateHandle[];
}

export type TaskOutcome =
  | { status: 'finished' }
  | { status: 'cancelled' }
  | { status: 'failed'; failure: Failure };
