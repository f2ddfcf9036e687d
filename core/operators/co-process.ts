/**
 * Two-input operators (connect): a co-process function gets the records of each input by its
 * own method, with one keyed state and one timer service shared by both inputs when they are
 * keyed. The broadcast state pattern is the same operator whose second input is broadcast:
 * `processBroadcastElement` runs on every subtask and keeps rules in `ctx.state.broadcast`.
 */
import type { Collector, KeySelector, ProcessFunctionLifecycle, RuntimeContext } from '../contract/functions.js';
import type { KeyedStateStore } from '../state/keyed-store.js';
import { keyGroupFor } from '../state/key-groups.js';
import { ProcessOperator } from './basic.js';
import { OperatorContext } from './context.js';
import { userFunctionFailure } from './failures.js';
import type { OperatorFactory, TwoInputOperator } from './operator.js';

/** The function of `a.connect(b).process(fn)` (Flink's `CoProcessFunction` / `KeyedCoProcessFunction`). */
export interface CoProcessFunction<A, B, R> extends ProcessFunctionLifecycle<R> {
  /** A record of the first input. */
  processElement1(value: A, ctx: RuntimeContext, out: Collector<R>): void;
  /** A record of the second input. */
  processElement2(value: B, ctx: RuntimeContext, out: Collector<R>): void;
}

class CoProcessOperator extends ProcessOperator implements TwoInputOperator {
  private readonly second: (value: unknown, ctx: RuntimeContext, out: Collector<unknown>) => void;
  private readonly store: KeyedStateStore | undefined;

  constructor(
    fn: CoProcessFunction<unknown, unknown, unknown>,
    ctx: OperatorContext,
    next: Collector<unknown>,
    rt: Parameters<OperatorFactory>[0],
    private readonly keys: [KeySelector<unknown, unknown> | undefined, KeySelector<unknown, unknown> | undefined],
  ) {
    // One object with the user's as prototype: every method, lifecycle ones included, runs
    // with the same `this`, so fields the function keeps are shared by both inputs.
    const obj = Object.create(fn) as CoProcessFunction<unknown, unknown, unknown> & {
      processElement: CoProcessFunction<unknown, unknown, unknown>['processElement1'];
    };
    obj.processElement = fn.processElement1;
    super(obj, ctx, next, rt);
    this.second = (v, c, o) => fn.processElement2.call(obj, v, c, o);
    this.store = rt.keyedStore;
  }

  collectSide(side: number, value: unknown): void {
    const sel = this.keys[side];
    if (sel !== undefined && this.store !== undefined) {
      const key = sel(value);
      this.store.setCurrentKey(key, keyGroupFor(key, this.ctx.maxParallelism));
    }
    if (side === 0) {
      this.collect(value);
      return;
    }
    this.recordsIn++;
    try {
      this.second(value, this.ctx, this.out);
    } catch (err) {
      throw userFunctionFailure(err, this.ctx);
    }
  }
}

export const coProcessOperator =
  (
    fn: CoProcessFunction<unknown, unknown, unknown>,
    keys: [KeySelector<unknown, unknown> | undefined, KeySelector<unknown, unknown> | undefined],
  ): OperatorFactory =>
  (rt, next) =>
    new CoProcessOperator(fn, new OperatorContext(rt), next, rt, keys);
