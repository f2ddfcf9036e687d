/**
 * The at-least-once writer of the connector sinks (Redis Streams, JetStream): records go out
 * right away in batches, in order, one batch at a time, and every checkpoint barrier waits
 * until all records before it are written. So a completed checkpoint implies the target holds
 * every record before it (nothing is lost), and a restore replays the records after it, which
 * the target may already hold: those are the duplicates at-least-once allows.
 *
 * A batch is flushed every `flushEvery` records, at each barrier and at the end of a bounded
 * job. While one batch is written the next keeps gathering. The first failure is kept and
 * thrown from the next call, so the task fails and the job restores.
 */
import { EddyError, messageOf } from '../../failure.js';
import type { ConnectorContext, SinkWriter } from '../types.js';

export interface BatchTarget<T> {
  open?(): Promise<void> | void;
  /** Writes one batch; a retry after a failure writes it again (at-least-once). */
  write(records: T[]): Promise<void>;
  close?(): Promise<void> | void;
}

export class AtLeastOnceWriter<T> implements SinkWriter<T> {
  private pending: T[] = [];
  private tail: Promise<void> = Promise.resolve();
  private running = 0;
  private failure: EddyError | undefined;

  constructor(
    private readonly name: string,
    private readonly target: BatchTarget<T>,
    private readonly flushEvery: number,
    private readonly ctx: ConnectorContext,
  ) {}

  open(): Promise<void> | void {
    return this.target.open?.();
  }

  write(value: T): void {
    if (this.failure) throw this.failure;
    this.pending.push(value);
    if (this.pending.length >= this.flushEvery && this.running === 0) this.startBatch();
  }

  /** The barrier: everything before it is written before the checkpoint may complete. */
  async prepareCommit(_checkpointId: number): Promise<unknown[]> {
    await this.flush();
    return [];
  }

  async finish(): Promise<void> {
    await this.flush();
  }

  async abort(): Promise<void> {
    this.pending = [];
    await this.tail;
  }

  async close(): Promise<void> {
    await this.tail;
    await this.target.close?.();
  }

  private async flush(): Promise<void> {
    this.startBatch();
    await this.tail;
    if (this.failure) throw this.failure;
  }

  private startBatch(): void {
    if (this.pending.length === 0 || this.failure) return;
    const batch = this.pending;
    this.pending = [];
    this.running++;
    this.tail = this.tail.then(() => this.runBatch(batch));
  }

  /** Never rejects: a failure is kept (so the chain and `abort` stay usable). */
  private async runBatch(batch: T[]): Promise<void> {
    try {
      if (!this.failure) await this.target.write(batch);
    } catch (err) {
      this.failure = new EddyError('SINK_FAILED', `${this.name}: writing ${batch.length} records failed: ${messageOf(err)}`, {
        operatorUid: this.ctx.operatorUid,
        subtask: this.ctx.subtaskIndex,
        cause: messageOf(err),
      });
    } finally {
      this.running--;
    }
    if (this.running === 0 && this.pending.length >= this.flushEvery) this.startBatch();
  }
}
