/**
 * What a source or a sink is to the runtime. A `Source` / `Sink` is a description built in the
 * job module (on every thread, since every worker re-imports the module); the runtime asks it
 * for a reader / writer per parallel subtask inside the worker.
 */
import type { Collector } from '../api/functions.js';

export interface ConnectorContext {
  readonly subtaskIndex: number;
  readonly parallelism: number;
  /** uid of the source or sink operator (or its generated name without one). */
  readonly operatorUid: string;
  /** Restart attempt of the job, 0 for the first run. */
  readonly attempt: number;
  /**
   * The same for every run of one job, including a `--resume` in a new process: derived from
   * the checkpoint directory (else the job module). Names external transactions a job owns.
   */
  readonly jobKey?: string;
  /** Sends a value to the main thread (e.g. collected records); delivered in order. */
  report(kind: string, payload: unknown): void;
}

/**
 * 'more': call poll again soon; 'idle': nothing to emit right now (call again after
 * `idleMs` or earlier); 'end': the (bounded) reader has emitted everything.
 */
export type PollStatus = 'more' | 'idle' | 'end';

export interface SourceReader<T> {
  /** Opens files etc.; a missing input fails here with a clear EddyError. */
  open?(): Promise<void> | void;
  /** Emits up to `max` records into `out` and says what the runtime should do next. */
  poll(out: Collector<T>, max: number): PollStatus | Promise<PollStatus>;
  /** How long to wait after 'idle' before polling again, in ms. */
  readonly idleMs?: number;
  /** The reader's position (offsets), kept in operator state by checkpoints. */
  snapshotState?(): unknown;
  /** Rewinds to a position taken by snapshotState. Called before open(). */
  restoreState?(state: unknown): void;
  /**
   * Checkpoint `checkpointId` completed (every task acknowledged it and its metadata is
   * durable): positions up to that checkpoint will never be replayed again, so a reader may now
   * acknowledge or commit them in the external system (consumer-group acks, offset commits).
   * Called on the task's thread, in checkpoint order; a completion can be skipped (a later id
   * covers the earlier ones). A throw fails the task.
   */
  notifyCheckpointComplete?(checkpointId: number): Promise<void> | void;
  close?(): Promise<void> | void;
}

export interface Source<T> {
  /** Default name for the source operator, e.g. 'textFile'. */
  readonly kind: string;
  /** True if the reader keeps a position in checkpoints (so the operator needs a uid). */
  readonly stateful: boolean;
  readonly bounded: boolean;
  /** A source that cannot run in parallel (e.g. fromElements) says 1. */
  readonly maxParallelism?: number;
  /** Checks made on the main thread before any worker starts (e.g. the input file exists). */
  validate?(): void | Promise<void>;
  createReader(ctx: ConnectorContext): SourceReader<T> | Promise<SourceReader<T>>;
}

export interface SinkWriter<T> {
  open?(): Promise<void> | void;
  /** Called for every record on the task's thread; buffer, do not block. */
  write(value: T): void;
  /**
   * Checkpoint barrier: seal what was written since the last one into a transaction and
   * return its handle (kept in the checkpoint). Two-phase-commit sinks only.
   */
  prepareCommit?(checkpointId: number): Promise<unknown> | unknown;
  /** The checkpoint that holds these handles completed: make them visible. Idempotent. */
  commit?(handles: unknown[]): Promise<void> | void;
  /** End of input on a bounded job: make everything written visible. */
  finish(): Promise<void> | void;
  /** Failure or cancellation: drop what is not committed. */
  abort?(): Promise<void> | void;
  close?(): Promise<void> | void;
}

export interface Sink<T> {
  readonly kind: string;
  /** True if the writer keeps transactions in checkpoints (so the operator needs a uid). */
  readonly stateful: boolean;
  validate?(): void | Promise<void>;
  createWriter(ctx: ConnectorContext): SinkWriter<T> | Promise<SinkWriter<T>>;
}
