/**
 * The job's exceptions history (Flink's "Exceptions" tab): every failure that ended an attempt,
 * as typed data for JobResult and a dashboard, and as one line for the terminal at the moment it
 * happens. A restart loop on the same record shows as "same failure as attempts 1–4", and the
 * record's origin (file, line, byte), when known, says which record it is.
 */
import { describeOrigin, type Failure, type FailureCode, type RecordOrigin } from '../failure.js';

/** One failure that ended an attempt of the job. */
export interface ExceptionEntry {
  /** When the main thread learned of it (ms since the epoch). */
  timestamp: number;
  /** What kind of failure. */
  code: FailureCode;
  /** uid of the operator that failed, if known. */
  operatorUid?: string;
  /** Its parallel subtask, if known. */
  subtask?: number;
  /** 1 for the job's first run, 2 for the first restart, … */
  attempt: number;
  /** One line for the user. */
  message: string;
  /** What the user function (or the underlying error) threw. */
  cause?: string;
  /** Stack of the underlying error. */
  stack?: string;
  /** Where the record that failed came from, when known (a failure in the source's own task). */
  origin?: RecordOrigin;
}

function sameOrigin(a: RecordOrigin | undefined, b: RecordOrigin | undefined): boolean {
  return a === b || (a !== undefined && b !== undefined && a.source === b.source && a.split === b.split && a.offset === b.offset);
}

function sameFailure(a: ExceptionEntry, b: ExceptionEntry): boolean {
  return (
    a.code === b.code &&
    a.operatorUid === b.operatorUid &&
    (a.cause ?? a.message) === (b.cause ?? b.message) &&
    sameOrigin(a.origin, b.origin)
  );
}

export class FailureHistory {
  readonly entries: ExceptionEntry[] = [];

  /** Records a failure and returns the line that reports it (the entry is the newest of `entries`). */
  add(f: Failure, attempt: number, now: number): string {
    const e: ExceptionEntry = {
      timestamp: now,
      code: f.code,
      operatorUid: f.operatorUid,
      subtask: f.subtask,
      attempt,
      message: f.message,
      cause: f.cause,
      stack: f.stack,
    };
    if (f.origin !== undefined) e.origin = f.origin;
    // The run of identical failures just before this one: a loop on the same record.
    let first = this.entries.length;
    while (first > 0 && sameFailure(this.entries[first - 1]!, e)) first--;
    const same = this.entries.slice(first);
    this.entries.push(e);
    const where = `${f.operatorUid !== undefined ? ` operator '${f.operatorUid}'` : ''}${f.subtask !== undefined ? ` subtask ${f.subtask}` : ''}${f.origin !== undefined ? `, ${describeOrigin(f.origin)}` : ''}`;
    const what = (f.message.split('\n')[0] ?? '').trim();
    const repeat =
      same.length === 0
        ? ''
        : same.length === 1
          ? ` (same failure as attempt ${same[0]!.attempt})`
          : ` (same failure as attempts ${same[0]!.attempt}–${same[same.length - 1]!.attempt})`;
    return `attempt ${attempt} failed: [${f.code}]${where}: ${what}${repeat}`;
  }
}
