/**
 * Parsing line by line, and what happens to a line that does not parse: the policy of the
 * JSON-lines and CSV sources. A parser is a function that returns the record or throws; the
 * policy decides between failing the task (naming file, line and byte offset), skipping the
 * line (counted) and sending it to a dead-letter side output. Counts of each travel in the
 * reader's checkpointed state, so after a restore they continue from the checkpoint and the
 * totals of a job equal those of a fault-free run.
 */
import { OutputTag, type Collector } from '../../contract/functions.js';
import { EddyError, messageOf } from '../../failure.js';
import type { ConnectorContext } from '../types.js';
import type { LineHandler, LinePosition } from './text-file.js';

/** A line that did not parse, as the dead-letter side output carries it. */
export interface InvalidLine {
  /** The line as read, without its line ending. */
  line: string;
  /** Path of the file, as given to the source. */
  file: string;
  /** Byte offset of the line's first byte (uncompressed bytes for a gzip file). */
  offset: number;
  /** 1-based line number. */
  lineNumber: number;
  /** Why it did not parse. */
  error: string;
}

/**
 * What a parsing source does with a line that does not parse: `'fail'` (the default) fails
 * the task with `MALFORMED_RECORD` naming file, line number and byte offset (the restart
 * strategy then decides, and the same line fails again); `'skip'` drops it and counts it;
 * an `OutputTag<InvalidLine>` sends it to that side output of the source
 * (`source.getSideOutput(tag)`), counted as dead-lettered.
 */
export type InvalidLinePolicy = 'fail' | 'skip' | OutputTag<InvalidLine>;

import type { ParseCounts, ParseCountsReport } from '../types.js';
export type { ParseCounts, ParseCountsReport };

export function checkPolicy(kind: string, policy: unknown): InvalidLinePolicy {
  if (policy === undefined) return 'fail';
  if (policy === 'fail' || policy === 'skip' || policy instanceof OutputTag) return policy;
  if (typeof (policy as OutputTag<unknown>)?.id === 'string') return policy as OutputTag<InvalidLine>;
  throw new EddyError(
    'JOB_INVALID',
    `${kind}: onInvalid must be 'fail', 'skip' or an OutputTag for dead letters, got ${JSON.stringify(policy)}`,
  );
}

const isBlank = (text: string): boolean => text.length === 0 || text.trim().length === 0;

/**
 * A LineHandler that parses each non-blank line with `parse` (which throws on bad input) and
 * applies the policy. `skipFirst` drops the first line of the file (a CSV header) uncounted.
 */
export class ParsingLineHandler<T> implements LineHandler<T> {
  private counts: ParseCounts = { parsed: 0, skipped: 0, deadLettered: 0 };
  private deadLetters: Collector<unknown> | undefined;

  constructor(
    private readonly kind: string,
    private readonly ctx: ConnectorContext,
    private readonly policy: InvalidLinePolicy,
    private readonly parse: (text: string) => T,
    private readonly skipFirst = false,
  ) {}

  open(): void {
    if (typeof this.policy !== 'object') return;
    this.deadLetters = this.ctx.sideOutput?.(this.policy.id);
    if (!this.deadLetters) {
      throw new EddyError(
        'JOB_INVALID',
        `${this.kind} source '${this.ctx.operatorUid}': its dead-letter output '${this.policy.id}' has no consumer; add source.getSideOutput(tag) to the job`,
      );
    }
  }

  line(text: string, at: LinePosition, out: Collector<T>): void {
    if (this.skipFirst && at.offset === 0) return;
    if (isBlank(text)) return;
    let value: T;
    try {
      value = this.parse(text);
    } catch (err) {
      this.invalid(text, at, messageOf(err));
      return;
    }
    this.counts.parsed++;
    out.collect(value);
  }

  private invalid(text: string, at: LinePosition, error: string): void {
    if (this.policy === 'skip') {
      this.counts.skipped++;
      return;
    }
    const lineNumber = at.lineNumber();
    if (this.policy === 'fail') {
      throw new EddyError(
        'MALFORMED_RECORD',
        `${this.kind}: line ${lineNumber} of '${at.file}' (byte ${at.offset}) does not parse: ${error}; fix the line, or set onInvalid: 'skip' or a dead-letter OutputTag`,
        { operatorUid: this.ctx.operatorUid, subtask: this.ctx.subtaskIndex, cause: error },
      );
    }
    this.counts.deadLettered++;
    const dead: InvalidLine = { line: text, file: at.file, offset: at.offset, lineNumber, error };
    this.deadLetters!.collect(dead);
  }

  snapshot(): ParseCounts {
    return { ...this.counts };
  }

  restore(states: unknown[], sameSubtask: boolean): void {
    const counts = states.filter((s): s is ParseCounts => typeof (s as ParseCounts)?.parsed === 'number');
    // After a rescale every reader gets every old state: subtask 0 carries the totals.
    const mine = sameSubtask || this.ctx.subtaskIndex === 0 ? counts : [];
    this.counts = { parsed: 0, skipped: 0, deadLettered: 0 };
    for (const c of mine) {
      this.counts.parsed += c.parsed;
      this.counts.skipped += c.skipped;
      this.counts.deadLettered += c.deadLettered;
    }
  }

  done(): void {
    const report: ParseCountsReport = { subtask: this.ctx.subtaskIndex, attempt: this.ctx.attempt, ...this.counts };
    this.ctx.report({ kind: 'parse-counts', counts: report });
  }
}
