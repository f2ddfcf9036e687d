/**
 * What a source or a sink is to the runtime. A `Source` / `Sink` is a description built in the
 * job module (on every thread, since every worker re-imports the module); the runtime asks it
 * for a reader / writer per parallel subtask inside the worker.
 */
import type { Collector } from '../contract/functions.js';
import type { RecordOrigin } from '../failure.js';

/** What a source reader or sink writer learns of where it runs. */
export interface ConnectorContext {
  /** This parallel instance's index, 0 to parallelism - 1. */
  readonly subtaskIndex: number;
  /** Number of parallel instances of the source or sink. */
  readonly parallelism: number;
  /** uid of the source or sink operator (or its generated name without one). */
  readonly operatorUid: string;
  /** Restart attempt of the job, 0 for the first run. */
  readonly attempt: number;
  /** Sends a report to the main thread (e.g. collected records); delivered in order. */
  report(report: ConnectorReport): void;
  /**
   * Source readers: where records of a side-output tag go (`source.getSideOutput(tag)`), or
   * undefined when nothing consumes that tag. Available from `open()` on.
   */
  sideOutput?(tagId: string): Collector<unknown> | undefined;
  /**
   * The same for every run of one job, including a `--resume` in a new process: derived from
   * the checkpoint directory (else the job module). Names external transactions a job owns.
   */
  readonly jobKey?: string;
}

/** One chunk of a collect sink's committed transaction (a restore may re-commit it: same id). */
export interface CollectedChunk {
  /** The committed handle's id (writer run and sequence number): the same when re-committed. */
  id: string;
  /** Index of this chunk among the handle's chunks, from 0. */
  part: number;
  /** The records of this chunk, in the order written. */
  records: unknown[];
}

/** Lines a line-parsing source parsed, skipped and dead-lettered. */
export interface ParseCounts {
  /** Lines that parsed into a record. */
  parsed: number;
  /** Lines that did not parse and were dropped (`onInvalid: 'skip'`). */
  skipped: number;
  /** Lines that did not parse and went to the dead-letter side output. */
  deadLettered: number;
}

/** A reader subtask's parse counts (totals since the job started, restored with its offsets). */
export interface ParseCountsReport extends ParseCounts {
  subtask: number;
  attempt: number;
}

/** What a connector may tell the main thread. */
export type ConnectorReport =
  | { kind: 'collect'; chunk: CollectedChunk }
  | { kind: 'parse-counts'; counts: ParseCountsReport }
  /** A sink whose target de-duplicated `duplicates` re-published records of `batch` (JetStream). */
  | { kind: 'duplicates-dropped'; batch: string; duplicates: number };

/** Where a reader is: the split and the position in it (a {@link RecordOrigin} without the source's uid). */
export type SplitPosition = Omit<RecordOrigin, 'source'>;

/**
 * 'more': call poll again soon; 'idle': nothing to emit right now (call again after
 * `idleMs` or earlier); 'end': the (bounded) reader has emitted everything.
 */
export type PollStatus = 'more' | 'idle' | 'end';

/** One parallel instance of a source, created in the worker (Flink's `SourceReader`). */
export interface SourceReader<T> {
  /** Opens files etc.; a missing input fails here with a clear EddyError. */
  open?(): Promise<void> | void;
  /** Emits up to `max` records into `out` and says what the runtime should do next. */
  poll(out: Collector<T>, max: number): PollStatus | Promise<PollStatus>;
  /** How long to wait after 'idle' before polling again, in ms. */
  readonly idleMs?: number;
  /**
   * The split and position of the record being emitted right now (during `out.collect` in
   * poll), or undefined when unknown. Asked only when processing that record threw, so it may
   * do work (count lines); the reader keeps nothing per record for it but its position.
   */
  currentOrigin?(): SplitPosition | undefined;
  /**
   * The reader's position (offsets), kept in operator state by checkpoints; `checkpointId` is
   * the checkpoint it is taken for (what notifyCheckpointComplete will later name).
   */
  snapshotState?(checkpointId?: number): unknown;
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
  /** The task ends (the input is done, a failure, or a cancel): release files and connections. */
  close?(): Promise<void> | void;
}

/** A source as the job builds it (`Sources.textFile(...)`), given to `env.fromSource`; it makes one reader per parallel subtask. */
export interface Source<T> {
  /** Default name for the source operator, e.g. 'textFile'. */
  readonly kind: string;
  /** True if the reader keeps a position in checkpoints (so the operator needs a uid). */
  readonly stateful: boolean;
  /** True if the source ends (a file); the job then ends when every bounded source has. */
  readonly bounded: boolean;
  /** A source that cannot run in parallel (e.g. fromElements) says 1. */
  readonly maxParallelism?: number;
  /** Checks made on the main thread before any worker starts (e.g. the input file exists). */
  validate?(): void | Promise<void>;
  /** The reader of one parallel subtask (called in the worker). */
  createReader(ctx: ConnectorContext): SourceReader<T> | Promise<SourceReader<T>>;
}

/** One parallel instance of a sink, created in the worker (Flink's `SinkWriter`, with the committer's part). */
export interface SinkWriter<T> {
  /** Opens files or connections before the first record. */
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
  /** The task ends: release files and connections. */
  close?(): Promise<void> | void;
}

/** A sink as the job builds it (`Sinks.print()`), given to `stream.sinkTo`; it makes one writer per parallel subtask. */
export interface Sink<T> {
  /** Default name of the sink operator, e.g. 'jsonLinesFile'. */
  readonly kind: string;
  /** True if the writer keeps transactions in checkpoints (so the operator needs a uid). */
  readonly stateful: boolean;
  /** Checks made on the main thread before any worker starts (e.g. the output directory can be made). */
  validate?(): void | Promise<void>;
  /** The writer of one parallel subtask (called in the worker). */
  createWriter(ctx: ConnectorContext): SinkWriter<T> | Promise<SinkWriter<T>>;
}
