/** The last operator of a chain: hands every record to the sink's writer. */
import type { SinkWriter } from '../connectors/types.js';
import { operatorFailure } from './failures.js';
import { BaseOperator } from './operator.js';

export class SinkOperator extends BaseOperator<unknown> {
  constructor(
    readonly writer: SinkWriter<unknown>,
    private readonly where: { operatorUid: string; subtask: number; transactional: boolean },
  ) {
    super();
  }
  override open(): Promise<void> | void {
    return this.writer.open?.();
  }
  collect(value: unknown): void {
    this.recordsIn++;
    try {
      this.writer.write(value);
    } catch (err) {
      throw operatorFailure(err, 'SINK_FAILED', 'sink write failed', this.where.operatorUid, this.where.subtask);
    }
  }
  override async finish(): Promise<void> {
    // Under checkpointing the last records are sealed by the final checkpoint's barrier and
    // committed when it completes; committing here could publish data that a restore replays.
    if (this.where.transactional) return;
    try {
      await this.writer.finish();
    } catch (err) {
      throw operatorFailure(err, 'SINK_FAILED', 'sink failed to commit', this.where.operatorUid, this.where.subtask);
    }
  }
  override async close(failed: boolean): Promise<void> {
    if (failed) await this.writer.abort?.();
    await this.writer.close?.();
  }
}
