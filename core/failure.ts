/**
 * Failures are data. An Error subclass does not survive a worker-thread boundary (structured
 * clone keeps only `message` and `stack`), so every failure travels as a plain `Failure`
 * record with a code, the operator uid and the subtask, and becomes an `EddyError` again on
 * the side that reports it to the user.
 */

export type FailureCode =
  // the user's input: job module, flags, arguments, files
  | 'JOB_NOT_FOUND'
  | 'JOB_INVALID'
  | 'JOB_LOAD_FAILED'
  | 'BAD_FLAG'
  | 'BAD_ARG'
  | 'MISSING_ARG'
  | 'GRAPH_INVALID'
  | 'UID_REQUIRED'
  | 'UID_DUPLICATE'
  | 'INPUT_NOT_FOUND'
  | 'OUTPUT_FAILED'
  | 'UNSUPPORTED'
  | 'SQL_INVALID'
  | 'SAVEPOINT_NOT_FOUND'
  | 'STATE_NOT_RESTORED'
  | 'JOB_NOT_RUNNING'
  // the running job
  | 'USER_FUNCTION_FAILED'
  | 'SOURCE_FAILED'
  | 'SINK_FAILED'
  | 'WORKER_EXITED'
  | 'RECORD_TOO_LARGE'
  | 'MALFORMED_RECORD'
  | 'NULL_KEY'
  | 'BAD_TIMESTAMP'
  | 'STATE_FAILED'
  | 'CHECKPOINT_FAILED'
  | 'CHECKPOINT_CORRUPT'
  | 'SAVEPOINT_FAILED'
  | 'CANCELLED'
  | 'INTERNAL';

/**
 * Where the record being processed when a failure happened came from: its source, the split
 * and the position in the split. Known when the failing operator runs in the source's own task
 * (chained): the reader is asked at the moment of the throw, so tracking costs nothing per
 * record. A record that crossed a network edge (keyBy, rebalance) carries no origin.
 */
export interface RecordOrigin {
  /** uid of the source operator that read the record. */
  source: string;
  /** The split: a file's path for file sources; for others, what the reader names it. */
  split: string;
  /** Position in the split: a line's first byte for files, the element's index for a generator or a collection. */
  offset: number;
  /** 1-based line number, for line-oriented files. */
  line?: number;
}

/** `record from 'in.jsonl' line 3 (byte 57)`, or `record at offset 100 of split 'generator 0/2' of source 'numbers'`. */
export function describeOrigin(o: RecordOrigin): string {
  if (o.line !== undefined) return `record from '${o.split}' line ${o.line} (byte ${o.offset})`;
  return `record at offset ${o.offset} of split '${o.split}' of source '${o.source}'`;
}

/** A failure as plain data (it crosses thread boundaries): code, message, where. */
export interface Failure {
  /** What kind of failure (see {@link FailureCode}). */
  code: FailureCode;
  /** One line for the user. */
  message: string;
  /** uid of the operator that failed (or its generated name when it has none). */
  operatorUid?: string;
  /** parallel subtask index of the failing task. */
  subtask?: number;
  /** message of the underlying error, e.g. what a user function threw. */
  cause?: string;
  /** Stack of the underlying error, shown with EDDY_DEBUG=1. */
  stack?: string;
  /** Where the record being processed came from, when known (see {@link RecordOrigin}). */
  origin?: RecordOrigin;
}

/** The error eddy throws and `runJob` rejects with: a {@link FailureCode} and, for a running job, where it happened. */
export class EddyError extends Error {
  /** What kind of failure, e.g. 'INPUT_NOT_FOUND', 'USER_FUNCTION_FAILED'. */
  readonly code: FailureCode;
  /** uid of the operator that failed, if any. */
  readonly operatorUid?: string;
  /** Subtask of the operator that failed, if any. */
  readonly subtask?: number;
  /** Message of the underlying error (what a user function threw). */
  readonly causeMessage?: string;
  /** Where the record being processed came from, when known; set by the task as the error passes the source. */
  origin?: RecordOrigin;

  constructor(
    code: FailureCode,
    message: string,
    where: { operatorUid?: string; subtask?: number; cause?: string; origin?: RecordOrigin } = {},
  ) {
    super(message);
    this.name = 'EddyError';
    this.code = code;
    this.operatorUid = where.operatorUid;
    this.subtask = where.subtask;
    this.causeMessage = where.cause;
    this.origin = where.origin;
  }

  /** As plain data, to cross a thread boundary. */
  toFailure(): Failure {
    return {
      code: this.code,
      message: this.message,
      operatorUid: this.operatorUid,
      subtask: this.subtask,
      cause: this.causeMessage,
      stack: this.stack,
      ...(this.origin !== undefined ? { origin: this.origin } : {}),
    };
  }

  /** An EddyError again from its plain data. */
  static fromFailure(f: Failure): EddyError {
    const e = new EddyError(f.code, f.message, f);
    if (f.stack) e.stack = f.stack;
    return e;
  }
}

/**
 * The message of anything thrown, for one line to a user: an Error's message (its class name
 * when the message is empty, as some network errors have), the first of an AggregateError's
 * errors (a connect to "localhost" fails once per address), or the value itself.
 */
export function messageOf(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) return messageOf(err.errors[0]);
  return err instanceof Error ? err.message || err.constructor.name : String(err);
}

/** Turns anything thrown into a Failure, keeping an EddyError's own code and location. */
export function toFailure(
  err: unknown,
  fallback: { code: FailureCode; operatorUid?: string; subtask?: number; context?: string },
): Failure {
  if (err instanceof EddyError) {
    const f = err.toFailure();
    return { ...f, operatorUid: f.operatorUid ?? fallback.operatorUid, subtask: f.subtask ?? fallback.subtask };
  }
  const cause = messageOf(err);
  const where = fallback.operatorUid !== undefined ? ` in operator '${fallback.operatorUid}' (subtask ${fallback.subtask ?? 0})` : '';
  return {
    code: fallback.code,
    message: `${fallback.context ?? 'failure'}${where}: ${cause}`,
    operatorUid: fallback.operatorUid,
    subtask: fallback.subtask,
    cause,
    stack: err instanceof Error ? err.stack : undefined,
  };
}
