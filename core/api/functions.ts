/**
 * The shapes of user functions and of what the runtime hands them. User functions receive the
 * runtime context last: map(value, ctx), filter(value, ctx), flatMap(value, out, ctx),
 * process(value, ctx, out).
 */
import type { StateAccessor } from './state.js';

export interface Collector<T> {
  collect(value: T): void;
}

/** A tag for records sent to a side output with `ctx.output(tag, value)`. */
export class OutputTag<T> {
  /** Phantom field so OutputTag<A> and OutputTag<B> are distinct types. */
  declare readonly __type?: T;
  constructor(readonly id: string) {}
}

export interface TimerService {
  currentProcessingTime(): number;
  currentWatermark(): number;
  registerEventTimeTimer(time: number): void;
  registerProcessingTimeTimer(time: number): void;
  deleteEventTimeTimer(time: number): void;
  deleteProcessingTimeTimer(time: number): void;
}

export interface RuntimeContext {
  /** Keyed state (on a keyed stream) and operator state, by name. */
  readonly state: StateAccessor;
  readonly timers: TimerService;
  readonly subtaskIndex: number;
  readonly parallelism: number;
  readonly maxParallelism: number;
  /** uid of the operator this function runs in. */
  readonly operatorUid: string;
  /** Restart attempt of the job: 0 on the first run, one more after every failover. */
  readonly attempt: number;
  /** The key of the record being processed (keyed streams only; undefined otherwise). */
  readonly currentKey: unknown;
  /** Event timestamp of the record being processed (in onTimer: the timer's time); NaN if none. */
  readonly timestamp: number;
  /** Sends a value to a side output. */
  output<X>(tag: OutputTag<X>, value: X): void;
}

export type MapFunction<T, R> = (value: T, ctx: RuntimeContext) => R;
export type FilterFunction<T> = (value: T, ctx: RuntimeContext) => boolean;
export type FlatMapFunction<T, R> = (value: T, out: Collector<R>, ctx: RuntimeContext) => void;
export type ReduceFunction<T> = (a: T, b: T) => T;
export type KeySelector<T, K> = (value: T) => K;

/** onTimer's context: currentKey is the timer's key, timestamp the timer's time. */
export interface OnTimerContext extends RuntimeContext {
  readonly timeDomain: 'event' | 'processing';
}

/** What every process-style function may implement besides its element methods. */
export interface ProcessFunctionLifecycle<R> {
  open?(ctx: RuntimeContext): void | Promise<void>;
  onTimer?(timestamp: number, ctx: OnTimerContext, out: Collector<R>): void;
  close?(): void | Promise<void>;
  /** Called at every checkpoint barrier, before the state is captured (Flink's snapshotState). */
  snapshotState?(checkpointId: number, ctx: RuntimeContext): void;
  /** Checkpoint `checkpointId` completed (Flink's CheckpointListener). */
  notifyCheckpointComplete?(checkpointId: number, ctx: RuntimeContext): void;
  /** Called once before the first record, after state was restored (Flink's initializeState). */
  initializeState?(ctx: RuntimeContext, restored: boolean): void | Promise<void>;
}

export interface ProcessFunctionObject<T, R> extends ProcessFunctionLifecycle<R> {
  processElement(value: T, ctx: RuntimeContext, out: Collector<R>): void;
}

export type ProcessFunction<T, R> = ((value: T, ctx: RuntimeContext, out: Collector<R>) => void) | ProcessFunctionObject<T, R>;
