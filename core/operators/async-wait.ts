/**
 * Async I/O (Flink's AsyncWaitOperator): calls a user function that returns a promise for each
 * record, keeps up to `capacity` calls in flight, and emits the results in input order
 * ('ordered') or as they complete ('unordered').
 *
 * The chain is synchronous, so results are never pushed from a promise callback: a completed
 * call only rings the task's gate, and the run loop calls `emitCompleted` between batches,
 * where pushing into the next operator is safe. Backpressure: a record that arrives while
 * `capacity` calls are in flight waits in the queue un-issued; the run loop then awaits
 * `backpressure()` before it delivers more input (so at most one batch waits beyond capacity).
 *
 * Checkpoints: at the barrier, results already complete are emitted first (they precede the
 * barrier); the inputs still waiting or in flight go into operator state and are issued again
 * on restore, in the same order. A result that arrives after the barrier is emitted after it.
 *
 * Retries: a call that rejects or times out is retried `retries` times after `retryDelayMs`;
 * after the last attempt the task fails (the restart strategy decides), as Flink's default
 * `timeout()` does. A watermark waits here until every record before it has been emitted (in
 * both modes), so results are never late behind it; it is not kept in checkpoints (the next
 * one from upstream follows).
 */
import type { Collector } from '../contract/functions.js';
import { EddyError, messageOf } from '../failure.js';
import type { OperatorListState } from '../contract/state.js';
import type { TaskTime } from '../time/task-time.js';
import { BaseOperator, type OperatorFactory, type OperatorRuntime } from './operator.js';

/** The user's call: resolves with the result to emit (`undefined`: emit nothing). */
export type AsyncFunction<T, R> = (value: T, signal: AbortSignal) => Promise<R | undefined>;

/** Options of `AsyncDataStream.orderedWait` / `unorderedWait`. */
export interface AsyncOptions {
  /** Per attempt; the call's signal is aborted when it expires. Default 10 000 ms. */
  timeoutMs?: number;
  /** Calls in flight at most (Flink's capacity). Default 100. */
  capacity?: number;
  /** Attempts after the first one, on rejection or timeout. Default 0. */
  retries?: number;
  /** Wait before a retry. Default 100 ms. */
  retryDelayMs?: number;
}

/** Results in input order, or as they complete. */
export type AsyncOutputMode = 'ordered' | 'unordered';

/** Operator state of the inputs not yet answered at a barrier, in input order. */
const IN_FLIGHT_STATE = '__eddy.async.inFlight';

interface Entry {
  /** Position in the input (counts every record this operator took). */
  seq: number;
  value: unknown;
  timestamp: number;
  attempts: number;
  done: boolean;
  result: unknown;
}

export function checkAsyncOptions(o: AsyncOptions | undefined): Required<AsyncOptions> {
  const r = {
    timeoutMs: o?.timeoutMs ?? 10_000,
    capacity: o?.capacity ?? 100,
    retries: o?.retries ?? 0,
    retryDelayMs: o?.retryDelayMs ?? 100,
  };
  const bad = (m: string): never => {
    throw new EddyError('JOB_INVALID', `async I/O: ${m}`);
  };
  if (!(r.timeoutMs > 0)) bad(`timeoutMs must be a positive number of milliseconds, got ${r.timeoutMs}`);
  if (!(Number.isSafeInteger(r.capacity) && r.capacity > 0)) bad(`capacity must be a positive integer, got ${r.capacity}`);
  if (!(Number.isSafeInteger(r.retries) && r.retries >= 0)) bad(`retries must be a non-negative integer, got ${r.retries}`);
  if (!(r.retryDelayMs >= 0)) bad(`retryDelayMs must be a non-negative number, got ${r.retryDelayMs}`);
  return r;
}

class AsyncWaitOperator extends BaseOperator<unknown> {
  /** Ordered: every entry in input order. Unordered: the entries not yet emitted, in input order. */
  private queue: Entry[] = [];
  /** Unordered: completed entries in completion order, to be emitted. */
  private completed: Entry[] = [];
  /** Index in `queue` of the next entry not yet issued: entries before it are issued, not yet emitted. */
  private nextToIssue = 0;
  private failure: EddyError | undefined;
  private readonly controllers = new Set<AbortController>();
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private readonly state: OperatorListState<[unknown, number]>;
  private readonly time: TaskTime;
  /** Resolved (and dropped) at the next completion or failure. */
  private waiter: { promise: Promise<void>; resolve: () => void } | undefined;
  private closed = false;
  /** Records taken so far (the next entry's seq). */
  private taken = 0;
  /** Watermarks held back, oldest first: each goes on once every entry before `seq` is emitted. */
  private heldWatermarks: { wm: number; seq: number }[] = [];
  /** Watermarks are sent on by this operator itself, behind the results before them. */
  readonly holdsWatermarks = true;

  constructor(
    private readonly fn: AsyncFunction<unknown, unknown>,
    private readonly mode: AsyncOutputMode,
    private readonly o: Required<AsyncOptions>,
    private readonly rt: OperatorRuntime,
    private readonly next: Collector<unknown>,
  ) {
    super();
    this.state = rt.operatorState.list<[unknown, number]>(IN_FLIGHT_STATE, 'split');
    this.time = rt.time;
  }

  initializeState(restored: boolean): void {
    if (!restored) return;
    // Inputs that were waiting or in flight at the restored barrier go first, in their order.
    for (const [value, timestamp] of this.state.get()) this.enqueue(value, timestamp);
    this.state.clear();
  }

  collect(value: unknown): void {
    this.recordsIn++;
    if (this.failure) throw this.failure;
    this.enqueue(value, this.time.timestamp);
  }

  private enqueue(value: unknown, timestamp: number): void {
    this.queue.push({ seq: this.taken++, value, timestamp, attempts: 0, done: false, result: undefined });
    this.issueWaiting();
  }

  /** Issues waiting entries while fewer than `capacity` are issued and not yet emitted (as Flink counts it). */
  private issueWaiting(): void {
    while (this.nextToIssue < this.o.capacity && this.nextToIssue < this.queue.length) this.attempt(this.queue[this.nextToIssue++]);
  }

  private attempt(e: Entry): void {
    e.attempts++;
    const ac = new AbortController();
    this.controllers.add(ac);
    let settled = false;
    const timer = setTimeout(() => settle(new Error(`timed out after ${this.o.timeoutMs} ms`), undefined, true), this.o.timeoutMs);
    this.timers.add(timer);
    const settle = (err: unknown, result: unknown, timedOut = false) => {
      if (settled || this.closed) return;
      settled = true;
      clearTimeout(timer);
      this.timers.delete(timer);
      this.controllers.delete(ac);
      if (timedOut) ac.abort(new Error('async I/O timeout'));
      if (err === undefined) return this.complete(e, result);
      if (e.attempts <= this.o.retries) {
        const t = setTimeout(() => {
          this.timers.delete(t);
          if (!this.closed) this.attempt(e);
        }, this.o.retryDelayMs);
        this.timers.add(t);
        return;
      }
      const cause = messageOf(err);
      this.failure = new EddyError(
        'USER_FUNCTION_FAILED',
        `async I/O call failed after ${e.attempts} attempt${e.attempts === 1 ? '' : 's'}: ${cause}`,
        {
          operatorUid: this.rt.displayName,
          subtask: this.rt.subtaskIndex,
          cause,
        },
      );
      this.wakeUp();
    };
    let p: Promise<unknown>;
    try {
      p = Promise.resolve(this.fn(e.value, ac.signal));
    } catch (err) {
      p = Promise.reject(err);
    }
    p.then(
      (r) => settle(undefined, r),
      (err) => settle(err ?? new Error('rejected'), undefined),
    );
  }

  private complete(e: Entry, result: unknown): void {
    e.done = true;
    e.result = result;
    if (this.mode === 'unordered') this.completed.push(e);
    this.wakeUp();
  }

  /** A call completed or failed: the loop has something to do (emit, issue more, fail). */
  private wakeUp(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.resolve();
    this.rt.wake();
  }

  private nextCompletion(): Promise<void> {
    if (!this.waiter) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.waiter = { promise, resolve };
    }
    return this.waiter.promise;
  }

  private readyPrefix(): number {
    let n = 0;
    while (n < this.queue.length && this.queue[n].done) n++;
    return n;
  }

  /** A watermark from upstream: on at once if nothing is pending before it, else once that is emitted. */
  processWatermark(wm: number): void {
    this.heldWatermarks.push({ wm, seq: this.taken });
    this.releaseWatermarks();
  }

  /** Sends on the held watermarks whose preceding entries have all been emitted. */
  private releaseWatermarks(): void {
    const low = this.queue.length > 0 ? this.queue[0].seq : this.taken;
    let n = 0;
    while (n < this.heldWatermarks.length && this.heldWatermarks[n].seq <= low) n++;
    if (n === 0) return;
    const wm = this.heldWatermarks[n - 1].wm;
    this.heldWatermarks.splice(0, n);
    this.rt.time.watermark(this.rt.chainIndex, wm);
  }

  /** On the task's loop: pushes completed results on (ordered: the completed head of the queue). */
  emitCompleted(): void {
    if (this.failure) throw this.failure;
    this.emitResults();
    if (this.heldWatermarks.length > 0) this.releaseWatermarks();
  }

  private emitResults(): void {
    if (this.mode === 'ordered') {
      const n = this.readyPrefix();
      if (n === 0) return;
      const done = this.queue.splice(0, n);
      this.nextToIssue -= n;
      for (const e of done) this.emit(e);
      this.issueWaiting();
    } else {
      if (this.completed.length === 0) return;
      const done = this.completed;
      this.completed = [];
      const gone = new Set(done);
      const before = this.queue.length;
      this.queue = this.queue.filter((e) => !gone.has(e));
      this.nextToIssue -= before - this.queue.length;
      for (const e of done) this.emit(e);
      this.issueWaiting();
    }
  }

  private emit(e: Entry): void {
    if (e.result === undefined) return;
    this.time.timestamp = e.timestamp;
    this.recordsOut++;
    this.next.collect(e.result);
  }

  /**
   * Undefined when more input may come (every queued record is issued); else a promise that
   * resolves at the next completion — the loop then emits and asks again.
   */
  backpressure(): Promise<void> | undefined {
    if (this.failure || this.nextToIssue >= this.queue.length) return undefined;
    return this.nextCompletion();
  }

  /**
   * The barrier: completed results at the head go out before it; every input still queued
   * (waiting, in flight, or complete behind an unfinished head) is kept, to be issued again.
   */
  snapshotState(): void {
    this.emitCompleted();
    this.state.update(this.queue.map((e) => [e.value, e.timestamp]));
  }

  /** End of input: every call completes and its result goes out before the operator finishes. */
  override async finish(): Promise<void> {
    for (;;) {
      this.emitCompleted();
      if (this.queue.length === 0) return;
      await this.nextCompletion();
    }
  }

  override close(): void {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    for (const ac of this.controllers) ac.abort(new Error('task ended'));
    this.waiter?.resolve();
  }
}

export const asyncWaitOperator =
  (fn: AsyncFunction<unknown, unknown>, mode: AsyncOutputMode, o: Required<AsyncOptions>): OperatorFactory =>
  (rt, next) =>
    new AsyncWaitOperator(fn, mode, o, rt, next);
