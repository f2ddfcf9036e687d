/**
 * Async I/O as Flink users know it: `AsyncDataStream.orderedWait(stream, fn, options)` and
 * `AsyncDataStream.unorderedWait(...)`. See core/operators/async-wait.ts for what happens.
 */
import {
  asyncWaitOperator,
  checkAsyncOptions,
  type AsyncFunction,
  type AsyncOptions,
  type AsyncOutputMode,
} from '../operators/async-wait.js';
import { EddyError } from '../failure.js';
import type { DataStream, SingleOutputStreamOperator } from './datastream.js';

function asyncWait<T, R>(
  mode: AsyncOutputMode,
  stream: DataStream<T>,
  fn: AsyncFunction<T, R>,
  options?: AsyncOptions,
): SingleOutputStreamOperator<R> {
  if (typeof fn !== 'function')
    throw new EddyError('JOB_INVALID', `AsyncDataStream.${mode}Wait expects a function (value, signal) => Promise<result>`);
  const o = checkAsyncOptions(options);
  // Stateful: inputs in flight at a barrier live in the checkpoint, so the operator needs a uid.
  return stream.addOperator<R>(`async-${mode}`, asyncWaitOperator(fn as AsyncFunction<unknown, unknown>, mode, o), true);
}

/**
 * Calls an asynchronous function per record with up to `capacity` calls in flight, a timeout
 * and retries per call. Inputs in flight at a checkpoint are kept in it and called again on
 * restore; a full capacity holds back the input (backpressure). A call that still fails after
 * its retries fails the task. The function resolves with the record to emit (`undefined`:
 * none) and should stop when its `signal` aborts (timeout, task end).
 */
export const AsyncDataStream = {
  /** Results in the order of their inputs (Flink's `orderedWait`). */
  orderedWait<T, R>(stream: DataStream<T>, fn: AsyncFunction<T, R>, options?: AsyncOptions): SingleOutputStreamOperator<R> {
    return asyncWait('ordered', stream, fn, options);
  },
  /** Results as soon as they complete (Flink's `unorderedWait`). */
  unorderedWait<T, R>(stream: DataStream<T>, fn: AsyncFunction<T, R>, options?: AsyncOptions): SingleOutputStreamOperator<R> {
    return asyncWait('unordered', stream, fn, options);
  },
};

export type { AsyncFunction, AsyncOptions, AsyncOutputMode };
