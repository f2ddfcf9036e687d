/**
 * Sets the current key before a keyed operator sees a record. The key is recomputed here from
 * the record with the same selector the upstream partitioner used (as Flink does), so keys
 * never travel on the wire.
 */
import type { Collector, KeySelector } from '../contract/functions.js';
import type { KeyedStateStore } from '../state/keyed-store.js';
import { keyGroupFor } from '../state/key-groups.js';
import type { ChainOperator } from './operator.js';

export class KeyContextOperator implements ChainOperator {
  /** Present only when the inner operator completes work off the loop: the run loop looks for it. */
  readonly emitCompleted?: () => void;
  readonly backpressure?: () => Promise<void> | undefined;
  constructor(
    private readonly selector: KeySelector<unknown, unknown>,
    private readonly store: KeyedStateStore,
    private readonly maxParallelism: number,
    private readonly inner: ChainOperator,
  ) {
    if (inner.emitCompleted) {
      this.emitCompleted = () => inner.emitCompleted!();
      this.backpressure = () => inner.backpressure?.();
    }
  }
  get recordsIn(): number {
    return this.inner.recordsIn;
  }
  get recordsOut(): number {
    return this.inner.recordsOut;
  }
  collect(value: unknown): void {
    const key = this.selector(value);
    this.store.setCurrentKey(key, keyGroupFor(key, this.maxParallelism));
    this.inner.collect(value);
  }
  open(): Promise<void> | void {
    return this.inner.open();
  }
  get generatesWatermarks(): boolean {
    return this.inner.generatesWatermarks === true;
  }
  get holdsWatermarks(): boolean {
    return this.inner.holdsWatermarks === true;
  }
  processWatermark(watermark: number): void {
    this.inner.processWatermark?.(watermark);
  }
  finish(): Promise<void> | void {
    return this.inner.finish();
  }
  close(failed: boolean): Promise<void> | void {
    return this.inner.close(failed);
  }
  snapshotState(checkpointId: number): void {
    this.inner.snapshotState?.(checkpointId);
  }
  notifyCheckpointComplete(checkpointId: number): void {
    this.inner.notifyCheckpointComplete?.(checkpointId);
  }
  initializeState(restored: boolean): Promise<void> | void {
    return this.inner.initializeState?.(restored);
  }
}
