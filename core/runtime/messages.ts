/**
 * Every shape that crosses a thread boundary: what the main thread gives a task, what a task
 * reports back, and how a task ends. Plain data only (structured clone).
 */
import type { MessagePort } from 'node:worker_threads';
import type { Failure } from '../failure.js';
import type { ResolvedSettings } from './settings.js';

export interface InputChannelSpec {
  edge: number;
  producerSubtask: number;
  ring: SharedArrayBuffer;
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
  /** Worker → main reports (collected records, failures with detail). */
  port: MessagePort;
}

export type TaskReport = { type: 'report'; operatorUid: string; kind: string; payload: unknown } | { type: 'done' };

export type TaskOutcome =
  | { status: 'finished' }
  | { status: 'cancelled' }
  | { status: 'failed'; failure: Failure };
