/** The last operator of a chain: hands every record to the sink's writer. */
import type { SinkWriter } from '../connectors/types.js';
import { BaseOperator } from './operator.js';

export class SinkOperator extends BaseOperator<unknown> {
  constructor(readonly writer: SinkWriter<unknown>) {
    super();
  }
  override open(): Promise<void> | void {
    return this.writer.open?.();
  }
  collect(value: unknown): void {
    this.recordsIn++;
    this.writer.write(value);
  }
  override async finish(): Promise<void> {
    await this.writer.finish();
  }
  override async close(failed: boolean): Promise<void> {
    if (failed) await this.writer.abort?.();
    await this.writer.close?.();
  }
}
