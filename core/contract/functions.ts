/**
 * The shapes of user functions and of what the runtime hands them. User functions receive the
 * runtime context last: map(value, ctx), filter(value, ctx), flatMap(value, out, ctx),
 * process(value, ctx, out).
 */
import type { StateAccessor } from './state.js';

/** Where a function emits its results (Flink's `Collector`): `out.collect(value)`. */
export interface Collector<T> {
  /** Emits one record downstream. */
  collect(value: T): void;
}

/** A tag for records sent to a side output with `ctx.output(tag, value)`. */
export class OutputTag<T> {
  /** Phantom field so OutputTag<A> and OutputTag<B> are distinct types. */
  declare readonly __type?: T;
  constructor(readonly id: string) {}
}

/**
 * Timers of the current key, as `ctx.timers` in `process` on a keyed stream (Flink's
 * `TimerService`). A timer calls the function's `onTimer(time, ctx, out)` with that key; one
 * timer per key, time and domain; timers are checkpointed with the keyed state.
 */
export interface TimerService {
  /** The wall clock in ms (Date.now()), as processing-time timers see it. */
  currentProcessingTime(): number;
  /** The operator's current event-time watermark (-Infinity before the first). */
  currentWatermark(): number;
  /** Calls onTimer once the watermark reaches `time` (ms of event time). */
  registerEventTimeTimer(time: number): void;
  /** Calls onTimer once the wall clock reaches `time` (ms since the epoch). */
  registerProcessingTimeTimer(time: number): void;
  /** Removes the current key's event-time timer at `time`, if any. */
  deleteEventTimeTimer(time: number): void;
  /** Removes the current key's processing-time timer at `time`, if any. */
  deleteProcessingTimeTimer(time: number): void;
}

/** What every user function receives last (Flink's `RuntimeContext` and process-function `Context` in one). */
export interface RuntimeContext {
  /** Keyed state (on a keyed stream) and operator state, by name. */
  readonly state: StateAccessor;
  /** Timers (in `process` on a keyed stream; elsewhere its methods fail with UNSUPPORTED). */
  readonly timers: TimerService;
  /** This parallel instance's index, 0 to parallelism - 1. */
  readonly subtaskIndex: number;
  /** Number of parallel instances of this operator. */
  readonly parallelism: number;
  /** Number of key groups: the upper bound of any rescaling. */
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

/** One record in, one out: `stream.map(fn)`. */
export type MapFunction<T, R> = (value: T, ctx: RuntimeContext) => R;
/** Keeps the records for which it returns true: `stream.filter(fn)`. */
export type FilterFunction<T> = (value: T, ctx: RuntimeContext) => boolean;
/** One record in, any number out through `out.collect`: `stream.flatMap(fn)`. */
export type FlatMapFunction<T, R> = (value: T, out: Collector<R>, ctx: RuntimeContext) => void;
/** Combines two values of a type into one (associative): rolling and window reduce, reducing state. */
export type ReduceFunction<T> = (a: T, b: T) => T;
/** The key of a record (`keyBy`); equal keys (by value, for strings, numbers and arrays of them) share state. */
export type KeySelector<T, K> = (value: T) => K;

/** onTimer's context: currentKey is the timer's key, timestamp the timer's time. */
export interface OnTimerContext extends RuntimeContext {
  /** Which clock fired the timer: event time (watermark) or processing time (wall clock). */
  readonly timeDomain: 'event' | 'processing';
}

/** What every process-style function may implement besides its element methods. */
export interface ProcessFunctionLifecycle<R> {
  /** Called once per parallel instance before the first record (after initializeState). */
  open?(ctx: RuntimeContext): void | Promise<void>;
  /** A timer registered through `ctx.timers` fired; `ctx.currentKey` is its key. */
  onTimer?(timestamp: number, ctx: OnTimerContext, out: Collector<R>): void;
  /** Called once when the task ends (after the last record, or on failure / cancellation). */
  close?(): void | Promise<void>;
  /** Called at every checkpoint barrier, before the state is captured (Flink's snapshotState). */
  snapshotState?(checkpointId: number, ctx: RuntimeContext): void;
  /** Checkpoint `checkpointId` completed (Flink's CheckpointListener). */
  notifyCheckpointComplete?(checkpointId: number, ctx: RuntimeContext): void;
  /** Called once before the first record, after state was restored (Flink's initializeState). */
  initializeState?(ctx: RuntimeContext, restored: boolean): void | Promise<void>;
}

/** A process function as an object (Flink's `ProcessFunction` / `KeyedProcessFunction`), with timers and lifecycle. */
export interface ProcessFunctionObject<T, R> extends ProcessFunctionLifecycle<R> {
  /** Called for every record; emit any number of results with `out.collect`. */
  processElement(value: T, ctx: RuntimeContext, out: Collector<R>): void;
}

/** What `stream.process(fn)` takes: `(value, ctx, out) => void`, or an object with `processElement` and optionally `onTimer` and lifecycle methods. */
export type ProcessFunction<T, R> = ((value: T, ctx: RuntimeContext, out: Collector<R>) => void) | ProcessFunctionObject<T, R>;
