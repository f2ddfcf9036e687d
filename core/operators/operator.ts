/**
 * An operator in a chain: records are pushed into it by `collect` and it pushes its results
 * into the next operator (or into the task's output) synchronously. A chain is therefore one
 * nest of direct calls from the source reader or input gate down to the output.
 */
import type { Collector } from '../contract/functions.js';
import type { ConnectorContext } from '../connectors/types.js';
import type { KeyedStateStore } from '../state/keyed-store.js';
import type { OperatorStateStore } from '../state/operator-state.js';
import type { TaskTime, WatermarkAware } from '../time/task-time.js';

export interface ChainOperator<I = unknown> extends Collector<I>, WatermarkAware {
  recordsIn: number;
  recordsOut: number;
  open(): Promise<void> | void;
  /** End of all input: emit what is held back (bounded jobs). */
  finish(): Promise<void> | void;
  /** The task is ending (after finish, or on failure / cancellation). */
  close(failed: boolean): Promise<void> | void;
  /** At a checkpoint barrier, before state is captured. */
  snapshotState?(checkpointId: number): void;
  /** The checkpoint completed (all tasks acknowledged, metadata durable). */
  notifyCheckpointComplete?(checkpointId: number): void;
  /** Once, after a restore (or on a fresh start), before open(). */
  initializeState?(restored: boolean): Promise<void> | void;
  /**
   * Operators whose work completes off the record loop (async I/O): pushes what completed
   * since the last call down the chain. The run loop calls it between batches.
   */
  emitCompleted?(): void;
  /** Such an operator when it cannot take input now: resolves when the loop should ask again. */
  backpressure?(): Promise<void> | undefined;
}

/** What the runtime gives an operator factory in the worker. */
export interface OperatorRuntime extends ConnectorContext {
  /** The uid the job gave this operator; undefined if it has none (displayName then names it). */
  readonly uid: string | undefined;
  /** uid, or the generated name for messages when the operator has none. */
  readonly displayName: string;
  readonly maxParallelism: number;
  /** Present when the operator consumes a keyed stream. */
  readonly keyedStore: KeyedStateStore | undefined;
  readonly operatorState: OperatorStateStore;
  /** The task's clock: current record timestamp, watermarks down the chain, wake-ups. */
  readonly time: TaskTime;
  /** This operator's position in the task's chain (head 0), for TaskTime.watermark. */
  readonly chainIndex: number;
  readonly autoWatermarkIntervalMs: number;
  /** Wakes the task's loop if it is parked (work completed off the loop, see emitCompleted). */
  wake(): void;
  /** Where `ctx.output(tag, v)` sends records of a tag, if anything consumes that tag. */
  sideOutput(tagId: string): Collector<unknown> | undefined;
}

export type OperatorFactory = (rt: OperatorRuntime, next: Collector<unknown>) => ChainOperator;

/** Base with the bookkeeping every operator shares. */
export abstract class BaseOperator<I> implements ChainOperator<I> {
  recordsIn = 0;
  recordsOut = 0;
  abstract collect(value: I): void;
  open(): Promise<void> | void {}
  finish(): Promise<void> | void {}
  close(_failed: boolean): Promise<void> | void {}
}

/** The head of a task with two logical inputs (connect, joins): told which input a record came from. */
export interface TwoInputOperator extends ChainOperator {
  collectSide(side: number, value: unknown): void;
}
