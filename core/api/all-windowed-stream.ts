/**
 * `stream.windowAll(assigner)`: windows over the whole stream, not per key (Flink's
 * AllWindowedStream). As in Flink, every record goes to one key on one subtask: the window
 * operator runs at parallelism 1 and keeps its windows as that key's keyed state, so
 * checkpoints, savepoints and lateness work as for keyed windows.
 */
import type { Collector, OutputTag, ReduceFunction } from '../contract/functions.js';
import type { AggregateFunction } from '../contract/state.js';
import type { SingleOutputStreamOperator } from './datastream.js';
import type { WindowedStream } from './windowed-stream.js';
import type { ProcessWindowFunction, WindowContext } from '../operators/window.js';
import type { Trigger } from '../time/windows/triggers.js';

/** A window function over all records of a non-keyed window (Flink's ProcessAllWindowFunction). */
export type ProcessAllWindowFunction<IN, OUT> = (ctx: WindowContext, elements: IN[], out: Collector<OUT>) => void;

/** The one key every record of a non-keyed window stream has. */
export const ALL_WINDOWS_KEY = 0;

const keyed = <IN, OUT>(fn: ProcessAllWindowFunction<IN, OUT> | undefined): ProcessWindowFunction<IN, OUT, number> | undefined =>
  fn === undefined ? undefined : (_key, ctx, elements, out) => fn(ctx, elements, out);

/**
 * Windows over a whole non-keyed stream (Flink's `AllWindowedStream`), from
 * `stream.windowAll(assigner)` or `stream.countWindowAll(n)`: every record goes to one window
 * operator at parallelism 1, whose windows are keyed state under one constant key, so they
 * checkpoint, restore, take allowed lateness and send late data to a side output as keyed
 * windows do. Finish it with `reduce`, `aggregate` or `process`.
 */
export class AllWindowedStream<T> {
  /** @internal */
  constructor(private readonly inner: WindowedStream<T, number>) {}

  /** Replaces the assigner's default trigger. */
  trigger(trigger: Trigger<unknown>): this {
    this.inner.trigger(trigger);
    return this;
  }

  /** Keeps event-time windows this long after they fire; late records within it fire them again. */
  allowedLateness(ms: number): this {
    this.inner.allowedLateness(ms);
    return this;
  }

  /** Records too late for every window they belong to go to this side output (getSideOutput(tag)). */
  sideOutputLateData(tag: OutputTag<T>): this {
    this.inner.sideOutputLateData(tag);
    return this;
  }

  /** Reduces each window to one value (optionally passed through a process function `(ctx, [reduced], out)`). */
  reduce<R = T>(fn: ReduceFunction<T>, process?: ProcessAllWindowFunction<T, R>): SingleOutputStreamOperator<R> {
    return nonParallel(this.inner.reduce<R>(fn, keyed(process)));
  }

  /** Aggregates each window incrementally (optionally passed through a process function `(ctx, [result], out)`). */
  aggregate<ACC, OUT, R = OUT>(
    fn: AggregateFunction<T, ACC, OUT>,
    process?: ProcessAllWindowFunction<OUT, R>,
  ): SingleOutputStreamOperator<R> {
    return nonParallel(this.inner.aggregate<ACC, OUT, R>(fn, keyed(process)));
  }

  /** Calls fn({ window, currentWatermark }, elements, out) with all records of a window. */
  process<R>(fn: ProcessAllWindowFunction<T, R>): SingleOutputStreamOperator<R> {
    if (typeof fn !== 'function') return this.inner.process<R>(fn as never); // the keyed check names the mistake
    return nonParallel(this.inner.process<R>(keyed(fn)!));
  }
}

/** A non-keyed window sees every record: it cannot run in parallel (setParallelism > 1 is refused). */
function nonParallel<R>(op: SingleOutputStreamOperator<R>): SingleOutputStreamOperator<R> {
  op.node.parallelismCap = 1;
  return op;
}
