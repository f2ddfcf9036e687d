/**
 * Two streams into one operator: `a.connect(b)` (co-map, co-flatMap, co-process; keyed with
 * `.keyBy(k1, k2)` or by connecting two keyed streams), `a.connect(rules.broadcast())` (the
 * broadcast state pattern), `keyedA.intervalJoin(keyedB)` and `a.join(b)` (window join).
 */
import { EddyError } from '../failure.js';
import { coProcessOperator, type CoProcessFunction } from '../operators/co-process.js';
import type { OperatorFactory } from '../operators/operator.js';
import { intervalJoinFunction, type IntervalJoinFunction } from '../operators/interval-join.js';
import type { WindowAssigner } from '../time/windows/assigners.js';
import type { DataStream, SingleOutputStreamOperator, StreamEnd } from './datastream.js';
import type { Collector, KeySelector, ProcessFunctionLifecycle, RuntimeContext } from '../contract/functions.js';
import type { WindowedStream } from './windowed-stream.js';

/** The function of `keyed.connect(rules.broadcast()).process(fn)` (Flink's `KeyedBroadcastProcessFunction`). */
export interface BroadcastProcessFunction<T, B, R> extends ProcessFunctionLifecycle<R> {
  /** A record of the main input; read the rules with ctx.state.broadcast(name). */
  processElement(value: T, ctx: RuntimeContext, out: Collector<R>): void;
  /** A record of the broadcast input, seen by every subtask: update ctx.state.broadcast(name). */
  processBroadcastElement(value: B, ctx: RuntimeContext, out: Collector<R>): void;
}

type Sel = KeySelector<unknown, unknown>;

/**
 * Adds a two-input operator fed by `a` (input 0) and `b` (input 1). Passed in by `DataStream`
 * (as `WindowedStream` takes its adder) so this module imports the stream classes as types
 * only, and the two modules form no cycle at run time.
 */
export type TwoInputAdder = <R>(kind: string, a: StreamEnd, b: StreamEnd, factory: OperatorFactory) => SingleOutputStreamOperator<R>;

/** Two streams feeding one operator (`a.connect(b)`), as Flink's `ConnectedStreams`: co-map, co-flatMap, co-process, broadcast state. */
export class ConnectedStreams<A, B> {
  /** @internal */
  constructor(
    private readonly addTwoInput: TwoInputAdder,
    private readonly a: StreamEnd,
    private readonly b: StreamEnd,
  ) {
    if (a.partitioning === 'broadcast')
      throw new EddyError('JOB_INVALID', 'connect: the broadcast stream goes second, as in main.connect(rules.broadcast())');
    if ((a.keySelector === undefined) !== (b.keySelector === undefined) && b.partitioning !== 'broadcast') {
      throw new EddyError('JOB_INVALID', 'connect: key both streams (keyBy on each, or connected.keyBy(key1, key2)) or neither');
    }
  }

  /** Keys both inputs, so they share keyed state and timers per key. */
  keyBy<K>(key1: KeySelector<A, K>, key2: KeySelector<B, K>): ConnectedStreams<A, B> {
    if (typeof key1 !== 'function' || typeof key2 !== 'function')
      throw new EddyError('JOB_INVALID', 'keyBy on connected streams expects two key selectors');
    return new ConnectedStreams<A, B>(
      this.addTwoInput,
      { ...this.a, partitioning: 'hash', keySelector: key1 as Sel },
      { ...this.b, partitioning: 'hash', keySelector: key2 as Sel },
    );
  }

  /** One function per input, one result per record (Flink's `CoMapFunction`). */
  map<R>(fn1: (a: A, ctx: RuntimeContext) => R, fn2: (b: B, ctx: RuntimeContext) => R): SingleOutputStreamOperator<R> {
    return this.process<R>({
      processElement1: (v, ctx, out) => out.collect(fn1(v, ctx)),
      processElement2: (v, ctx, out) => out.collect(fn2(v, ctx)),
    });
  }

  /** One function per input, any number of results per record (Flink's `CoFlatMapFunction`). */
  flatMap<R>(
    fn1: (a: A, out: Collector<R>, ctx: RuntimeContext) => void,
    fn2: (b: B, out: Collector<R>, ctx: RuntimeContext) => void,
  ): SingleOutputStreamOperator<R> {
    return this.process<R>({
      processElement1: (v, ctx, out) => fn1(v, out, ctx),
      processElement2: (v, ctx, out) => fn2(v, out, ctx),
    });
  }

  /**
   * A co-process function; when the second stream is broadcast, a broadcast process function
   * ({ processElement, processBroadcastElement }).
   */
  process<R>(fn: CoProcessFunction<A, B, R> | BroadcastProcessFunction<A, B, R>): SingleOutputStreamOperator<R> {
    const broadcast = this.b.partitioning === 'broadcast';
    let co: CoProcessFunction<unknown, unknown, unknown>;
    if (broadcast) {
      const f = fn as BroadcastProcessFunction<unknown, unknown, unknown>;
      if (typeof f?.processElement !== 'function' || typeof f.processBroadcastElement !== 'function') {
        throw new EddyError('JOB_INVALID', 'process on a broadcast-connected stream expects { processElement, processBroadcastElement }');
      }
      co = Object.assign(Object.create(f) as object, {
        processElement1: f.processElement,
        processElement2: f.processBroadcastElement,
      }) as CoProcessFunction<unknown, unknown, unknown>;
    } else {
      co = fn as CoProcessFunction<unknown, unknown, unknown>;
      if (typeof co?.processElement1 !== 'function' || typeof co.processElement2 !== 'function') {
        throw new EddyError('JOB_INVALID', 'process on connected streams expects { processElement1, processElement2 }');
      }
    }
    const keys: [Sel | undefined, Sel | undefined] = [this.a.keySelector, broadcast ? undefined : this.b.keySelector];
    return this.addTwoInput<R>(broadcast ? 'broadcastProcess' : 'coProcess', this.a, this.b, coProcessOperator(co, keys));
  }
}

/** `keyedA.intervalJoin(keyedB).between(lower, upper).process(fn)`. */
export class IntervalJoin<A, B> {
  private lower = 0;
  private upper = 0;
  /** @internal */
  constructor(
    private readonly addTwoInput: TwoInputAdder,
    private readonly a: StreamEnd,
    private readonly b: StreamEnd,
  ) {}

  /** A left record at t joins right records at t + lower … t + upper (inclusive, ms). */
  between(lowerMs: number, upperMs: number): this {
    if (!Number.isFinite(lowerMs) || !Number.isFinite(upperMs) || lowerMs > upperMs) {
      throw new EddyError('JOB_INVALID', `between expects lower <= upper (ms), got ${lowerMs} and ${upperMs}`);
    }
    this.lower = lowerMs;
    this.upper = upperMs;
    return this;
  }

  /** Calls `fn(left, right, ctx, out)` for every pair whose timestamps satisfy `left + lower <= right <= left + upper`. */
  process<R>(fn: IntervalJoinFunction<A, B, R>): SingleOutputStreamOperator<R> {
    if (typeof fn !== 'function')
      throw new EddyError('JOB_INVALID', 'intervalJoin process expects a function (left, right, ctx, out) => void');
    const co = intervalJoinFunction(this.lower, this.upper, fn as IntervalJoinFunction<unknown, unknown, unknown>);
    return this.addTwoInput<R>('intervalJoin', this.a, this.b, coProcessOperator(co, [this.a.keySelector, this.b.keySelector]));
  }
}

/** `a.join(b).where(k1).equalTo(k2).window(assigner).apply((l, r) => result)`. */
export class JoinedStreams<A, B> {
  /** @internal */
  constructor(
    private readonly a: DataStream<A>,
    private readonly b: DataStream<B>,
  ) {}

  /** The key of the first stream; then `.equalTo(key2)` for the second, then `.window(assigner)`. */
  where<K>(key1: KeySelector<A, K>): { equalTo(key2: KeySelector<B, K>): { window(assigner: WindowAssigner): WindowJoin<A, B> } } {
    return {
      equalTo: (key2) => ({
        window: (assigner) => new WindowJoin<A, B>(this.a, this.b, key1 as Sel, key2 as Sel, assigner),
      }),
    };
  }
}

interface Tagged {
  s: 0 | 1;
  v: unknown;
}

/** A window join after `where/equalTo/window`: `.apply((left, right) => result)` per pair in the same key and window. */
export class WindowJoin<A, B> {
  /** @internal */
  constructor(
    private readonly a: DataStream<A>,
    private readonly b: DataStream<B>,
    private readonly key1: Sel,
    private readonly key2: Sel,
    private readonly assigner: WindowAssigner,
  ) {}

  /**
   * Every pair (left, right) of one key in one window. Built as Flink does: both sides tagged,
   * united, keyed and windowed; the window's records are paired when it fires.
   */
  apply<R>(fn: (left: A, right: B) => R): SingleOutputStreamOperator<R> {
    if (typeof fn !== 'function') throw new EddyError('JOB_INVALID', 'apply expects a function (left, right) => result');
    const k1 = this.key1;
    const k2 = this.key2;
    const left = this.a.map((v) => ({ s: 0, v }) as Tagged);
    const right = this.b.map((v) => ({ s: 1, v }) as Tagged);
    const windowed: WindowedStream<Tagged, unknown> = left
      .union(right)
      .keyBy((t) => (t.s === 0 ? k1(t.v) : k2(t.v)))
      .window(this.assigner);
    // The sides are split once per firing so pairing costs left x right, not (left + right)^2:
    // in SQL's q5 a window holds every auction's count on the left and one maximum on the right.
    return windowed.process<R>((_key, _ctx, elements, out) => {
      const lefts: A[] = [];
      const rights: B[] = [];
      for (const t of elements) {
        if (t.s === 0) lefts.push(t.v as A);
        else rights.push(t.v as B);
      }
      if (rights.length === 0) return;
      for (const l of lefts) for (const r of rights) out.collect(fn(l, r));
    });
  }
}
