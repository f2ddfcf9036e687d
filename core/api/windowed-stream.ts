/**
 * `keyedStream.window(assigner)`: configures a window operator, which the window function
 * (reduce, aggregate, process) then adds to the graph.
 */
import { EddyError } from '../failure.js';
import { windowOperator, type ProcessWindowFunction, type WindowFunctionSpec } from '../operators/window.js';
import type { WindowAssigner } from '../time/windows/assigners.js';
import type { Trigger } from '../time/windows/triggers.js';
import type { SingleOutputStreamOperator } from './datastream.js';
import type { OutputTag, ReduceFunction } from '../contract/functions.js';
import type { AggregateFunction } from '../contract/state.js';
import type { OperatorFactory } from '../operators/operator.js';

/**
 * A keyed stream cut into windows (`keyed.window(assigner)`, Flink's `WindowedStream`): set
 * `trigger`, `allowedLateness`, `sideOutputLateData`, then compute with `reduce`, `aggregate`
 * or `process`.
 */
export class WindowedStream<T, K> {
  private trig: Trigger<unknown> | undefined;
  private lateness = 0;
  private lateTag: string | undefined;

  /** @internal */
  constructor(
    private readonly assigner: WindowAssigner,
    private readonly add: <R>(kind: string, factory: OperatorFactory) => SingleOutputStreamOperator<R>,
  ) {
    if (typeof assigner?.assignWindows !== 'function') {
      throw new EddyError('JOB_INVALID', 'window() expects a window assigner, e.g. TumblingEventTimeWindows.of(60_000)');
    }
  }

  /** Replaces the assigner's default trigger. */
  trigger(trigger: Trigger<unknown>): this {
    if (typeof trigger?.onElement !== 'function')
      throw new EddyError('JOB_INVALID', 'trigger() expects a Trigger, e.g. CountTrigger.of(100)');
    this.trig = trigger;
    return this;
  }

  /** Keeps event-time windows this long after they fire; late records within it fire them again. */
  allowedLateness(ms: number): this {
    if (!(ms >= 0) || !Number.isFinite(ms)) throw new EddyError('JOB_INVALID', `allowedLateness expects milliseconds >= 0, got ${ms}`);
    if (!this.assigner.isEventTime && ms > 0) throw new EddyError('JOB_INVALID', 'allowedLateness applies to event-time windows only');
    this.lateness = ms;
    return this;
  }

  /** Records too late for every window they belong to go to this side output (getSideOutput(tag)). */
  sideOutputLateData(tag: OutputTag<T>): this {
    if (typeof tag?.id !== 'string') throw new EddyError('JOB_INVALID', 'sideOutputLateData expects an OutputTag');
    this.lateTag = tag.id;
    return this;
  }

  /** Reduces each window to one value (optionally passed through a process window function). */
  reduce<R = T>(fn: ReduceFunction<T>, process?: ProcessWindowFunction<T, R, K>): SingleOutputStreamOperator<R> {
    if (typeof fn !== 'function') throw new EddyError('JOB_INVALID', 'reduce expects a function (a, b) => reduced');
    return this.build<R>({
      kind: 'reduce',
      reduce: fn as (a: unknown, b: unknown) => unknown,
      process: process as ProcessWindowFunction<unknown, unknown, unknown> | undefined,
    });
  }

  /** Aggregates each window incrementally (createAccumulator, add, getResult; merge for sessions). */
  aggregate<ACC, OUT, R = OUT>(
    fn: AggregateFunction<T, ACC, OUT>,
    process?: ProcessWindowFunction<OUT, R, K>,
  ): SingleOutputStreamOperator<R> {
    if (typeof fn?.add !== 'function' || typeof fn.createAccumulator !== 'function' || typeof fn.getResult !== 'function') {
      throw new EddyError('JOB_INVALID', 'aggregate expects { createAccumulator, add, getResult } (and merge for session windows)');
    }
    if (this.assigner.sessionGap !== undefined && typeof fn.merge !== 'function') {
      throw new EddyError(
        'JOB_INVALID',
        `aggregate on ${this.assigner.kind} needs a merge(a, b) function: sessions merge their accumulators`,
      );
    }
    return this.build<R>({
      kind: 'aggregate',
      aggregate: fn as AggregateFunction<unknown, unknown, unknown>,
      process: process as ProcessWindowFunction<unknown, unknown, unknown> | undefined,
    });
  }

  /** Calls fn(key, { window, currentWatermark }, elements, out) with all records of a window. */
  process<R>(fn: ProcessWindowFunction<T, R, K>): SingleOutputStreamOperator<R> {
    if (typeof fn !== 'function') throw new EddyError('JOB_INVALID', 'process expects a function (key, ctx, elements, out) => void');
    return this.build<R>({ kind: 'process', process: fn as ProcessWindowFunction<unknown, unknown, unknown> });
  }

  private build<R>(fn: WindowFunctionSpec): SingleOutputStreamOperator<R> {
    return this.add<R>(
      'window',
      windowOperator({
        assigner: this.assigner,
        trigger: this.trig ?? this.assigner.defaultTrigger(),
        allowedLateness: this.lateness,
        lateTag: this.lateTag,
        fn,
      }),
    );
  }
}
