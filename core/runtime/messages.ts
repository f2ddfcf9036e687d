/**
 * Every shape that crosses a thread boundary: what the main thread gives a task, what a task
 * reports back, and how a task ends. Plain data only (structured clone).
 */
import type { MessagePort } from 'node:worker_threads';
import type { CheckpointPhases, SnapshotKind, SubtaskAck } from '../checkpoint/coordinator.js';
import type { CheckpointDecline } from '../checkpoint/decline.js';
import type { ChannelStateHandle, OperatorStateHandles } from '../checkpoint/metadata.js';
import type { CollectedChunk, ParseCountsReport } from '../connectors/types.js';
import type { BuildNotes } from '../api/environment.js';
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
  /** The job file as the user named it (its identity: names, transactional ids). */
  jobPath: string;
  /** What the worker imports: the job file, or the bundle a TypeScript job was compiled to. */
  jobModule: string;
  args: Record<string, string>;
  settings: ResolvedSettings;
  /** The job graph the main thread planned; the worker checks it rebuilt the same one. */
  fingerprint: string;
  /** What the main thread's build of the job left for the worker's (plain data, see BuildNotes). */
  buildNotes: BuildNotes;
  vertex: number;
  subtask: number;
  attempt: number;
  gate: SharedArrayBuffer;
  control: SharedArrayBuffer;
  metrics: SharedArrayBuffer;
  /** Metrics slot of every chained operator, head first. */
  metricsSlots: number[];
  /** This task's own counters (time accounting, watermarks; see observe/metrics-layout.ts). */
  counters: SharedArrayBuffer;
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
  /** A collect sink committed this chunk of a transaction. */
  | { type: 'collected'; operatorUid: string; chunk: CollectedChunk }
  /** A line-parsing source reader's counts when it ends or closes. */
  | { type: 'parse-counts'; operatorUid: string; counts: ParseCountsReport }
  /** A sink's target dropped this many re-published records as duplicates. */
  | { type: 'duplicates-dropped'; operatorUid: string; duplicates: number }
  /** A keyed operator subtask got its state back (local: the LMDB environment was reopened as it was). */
  | { type: 'restored'; operatorUid: string; subtask: number; local: boolean; filesRead: number }
  /** The answer to a 'query' command: the value, or why there is none. */
  | { type: 'state-value'; requestId: number; found: boolean; value?: unknown; error?: string }
  /**
   * `durable`: one port per state file still being written on the task's writer thread (its
   * handle's checksum is PENDING_CHECKSUM); the writer posts the file's FileDurable on it.
   */
  | { type: 'ack'; id: number; acks: SubtaskAck[]; phases: CheckpointPhases; channels?: ChannelStateHandle; durable?: MessagePort[] }
  | ({ type: 'decline' } & CheckpointDecline)
  | { type: 'source-ended' }
  | { type: 'done' };

/** Main → task. */
export type TaskCommand =
  | { type: 'trigger'; id: number; timestamp: number; final: boolean; kind: SnapshotKind; stop: boolean; unaligned: boolean }
  | { type: 'notify'; id: number; final: boolean }
  | { type: 'abort'; id: number };

/** Queryable state: read `name` of operator `uid` for `key` (answered with 'state-value'), off the run loop. */
export interface StateQueryCommand {
  type: 'query';
  requestId: number;
  uid: string;
  name: string;
  key: unknown;
}

/** Everything the main thread posts to a task's port. */
export type PortCommand = TaskCommand | StateQueryCommand;

/** What a task restores from: the checkpoint's operators (the task picks its own by uid). */
export interface RestoreSpec {
  checkpointDir: string;
  checkpointId: number;
  operators: OperatorStateHandles[];
  /** In-flight data of an unaligned checkpoint, per task (each task replays its own). */
  channels?: ChannelStateHandle[];
  /**
   * How the in-flight data on each edge restores (in-flight-rescale.ts); absent for a
   * checkpoint that does not describe its edges (restored only as it was).
   */
  channelEdges?: RestoredChannelEdge[];
}

/** One edge's stored in-flight data, and how it comes back (see core/runtime/in-flight-rescale.ts). */
export interface RestoredChannelEdge {
  /** The edge id in the checkpoint's graph (what the in-flight data files name). */
  stored: number;
  /** The edge id in this job's graph. */
  edge: number;
  /** same: back into the same channels; hash / rebalance: re-dealt to the new consumer subtasks. */
  mode: 'same' | 'hash' | 'rebalance';
  /** The producer and consumer task names in the checkpoint (the names its handles carry). */
  from: string;
  to: string;
}

export type TaskOutcome = { status: 'finished' } | { status: 'cancelled' } | { status: 'failed'; failure: Failure };
