/**
 * A source task's reader: opened, then polled for a batch sized by what its output can take.
 * A reader's own failure becomes SOURCE_FAILED naming the source and subtask.
 */
import type { PollStatus } from '../core/connectors/types.js';
import { operatorFailure } from '../core/operators/failures.js';
import type { StreamTask } from './task.js';

export class SourcePoll {
  private readonly source: NonNullable<StreamTask['source']>;
  private readonly batchSize: number;

  constructor(private readonly task: StreamTask) {
    this.source = task.source!;
    this.batchSize = task.plan.settings.batchSize;
  }

  async open(): Promise<void> {
    try {
      await this.source.reader.open?.();
    } catch (err) {
      throw this.failure(err, 'source failed to open');
    }
  }

  /**
   * One poll, its records through the chain. Not async: a reader that answers synchronously
   * costs the loop no promise and no microtask per batch.
   */
  poll(): PollStatus | Promise<PollStatus> {
    const { reader, counter } = this.source;
    const output = this.task.output;
    let r: PollStatus | Promise<PollStatus>;
    try {
      r = reader.poll(counter, output === undefined ? this.batchSize : output.pollSize(this.batchSize));
    } catch (err) {
      throw this.failure(err, 'source failed');
    }
    return typeof r === 'string'
      ? r
      : r.catch((err: unknown) => {
          throw this.failure(err, 'source failed');
        });
  }

  /** How long to sleep after an 'idle' poll (ms). */
  get idleMs(): number {
    return this.source.reader.idleMs ?? 10;
  }

  private failure(err: unknown, what: string): Error {
    const { node } = this.source;
    return operatorFailure(err, 'SOURCE_FAILED', what, node.uid ?? node.name, this.task.spec.subtask);
  }
}
