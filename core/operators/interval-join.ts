/**
 * The interval join of two keyed streams (Flink's IntervalJoinOperator): a left record at t
 * joins every right record of the same key at t + lower … t + upper (both inclusive). Both
 * sides are buffered in keyed map state by timestamp and dropped by event-time timers once
 * the watermark says nothing can join them any more; records behind the watermark are late
 * and dropped.
 */
import type { Collector, RuntimeContext } from '../contract/functions.js';
import type { MapState } from '../contract/state.js';
import type { CoProcessFunction } from './co-process.js';

/** Called for each joined pair of an interval join (Flink's `ProcessJoinFunction`): the left record, the right record, the context and the output. */
export type IntervalJoinFunction<A, B, R> = (left: A, right: B, ctx: RuntimeContext, out: Collector<R>) => void;

const LEFT = '__eddy/join/left';
const RIGHT = '__eddy/join/right';

export function intervalJoinFunction(
  lower: number,
  upper: number,
  fn: IntervalJoinFunction<unknown, unknown, unknown>,
): CoProcessFunction<unknown, unknown, unknown> {
  const add = (buf: MapState<number, unknown[]>, ts: number, v: unknown) => {
    const l = buf.get(ts) ?? [];
    l.push(v);
    buf.put(ts, l);
  };
  return {
    processElement1(left, ctx, out) {
      const t = ctx.timestamp;
      if (t < ctx.timers.currentWatermark()) return; // late
      add(ctx.state.map<number, unknown[]>(LEFT), t, left);
      for (const [rt, rights] of ctx.state.map<number, unknown[]>(RIGHT).entries()) {
        if (rt < t + lower || rt > t + upper) continue;
        for (const r of rights) fn(left, r, ctx, out);
      }
      ctx.timers.registerEventTimeTimer(t + Math.max(upper, 0));
    },
    processElement2(right, ctx, out) {
      const t = ctx.timestamp;
      if (t < ctx.timers.currentWatermark()) return;
      add(ctx.state.map<number, unknown[]>(RIGHT), t, right);
      for (const [lt, lefts] of ctx.state.map<number, unknown[]>(LEFT).entries()) {
        if (t < lt + lower || t > lt + upper) continue;
        for (const l of lefts) fn(l, right, ctx, out);
      }
      ctx.timers.registerEventTimeTimer(t - Math.min(lower, 0));
    },
    onTimer(_time, ctx) {
      // Future records are at or after the watermark: what cannot join them is dropped.
      const wm = ctx.timers.currentWatermark();
      const left = ctx.state.map<number, unknown[]>(LEFT);
      for (const lt of [...left.keys()]) if (lt + upper < wm) left.remove(lt);
      const right = ctx.state.map<number, unknown[]>(RIGHT);
      for (const rt of [...right.keys()]) if (rt - lower < wm) right.remove(rt);
    },
  };
}
