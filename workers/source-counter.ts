/**
 * Counts what the source reader emits, as the source operator's records out, and names the
 * origin (split and offset) of the record a failure was thrown for.
 */
import type { Collector } from '../core/contract/functions.js';
import type { SourceReader } from '../core/connectors/types.js';
import { EddyError, type FailureCode } from '../core/failure.js';

/** Failures caused by one record, which its origin explains (not a sink's or the runtime's). */
const RECORD_FAILURES: ReadonlySet<FailureCode> = new Set<FailureCode>([
  'USER_FUNCTION_FAILED',
  'NULL_KEY',
  'BAD_TIMESTAMP',
  'RECORD_TOO_LARGE',
]);

/**
 * Counts what the source reader emits, as the source operator's records out. A failure thrown
 * while the chain processes a record passes here on its way out of the reader's poll: the
 * reader is then still at that record, so its split and offset are that record's origin,
 * exactly, and nothing is kept per record to know it.
 */
export class SourceCounter implements Collector<unknown> {
  recordsOut = 0;
  constructor(
    private readonly next: Collector<unknown>,
    private readonly reader: SourceReader<unknown>,
    private readonly sourceUid: string,
  ) {}
  collect(value: unknown): void {
    this.recordsOut++;
    try {
      this.next.collect(value);
    } catch (err) {
      if (err instanceof EddyError && err.origin === undefined && RECORD_FAILURES.has(err.code)) this.addOrigin(err);
      throw err;
    }
  }

  private addOrigin(err: EddyError): void {
    let at;
    try {
      at = this.reader.currentOrigin?.();
    } catch {
      // Finding the position is best effort: the failure itself must come out.
    }
    if (at !== undefined) err.origin = { source: this.sourceUid, ...at };
  }
}
