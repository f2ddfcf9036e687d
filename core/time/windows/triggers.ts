/**
 * Triggers decide when a window's contents are emitted (Flink's Trigger). A trigger is
 * stateless itself: per-window state and timers go through the context, which binds them to
 * the current key and window, so they are checkpointed with the window.
 */
import { EddyError } from '../../failure.js';
import { maxTimestamp, type TimeWindow } from './window.js';

/** What a trigger decides (Flink's `TriggerResult`): nothing, emit the window, drop its contents, or both. */
export type TriggerResult = 'CONTINUE' | 'FIRE' | 'PURGE' | 'FIRE_AND_PURGE';

/** A value a trigger keeps per key and window (checkpointed with the window). */
export interface TriggerState<T> {
  /** The value, or undefined if none. */
  get(): T | undefined;
  /** Sets the value. */
  put(value: T): void;
  /** Removes the value. */
  clear(): void;
}

/** What a trigger can do for the current key and window (Flink's `Trigger.TriggerContext`). */
export interface TriggerContext {
  /** The operator's current event-time watermark. */
  readonly currentWatermark: number;
  /** The wall clock in ms. */
  readonly currentProcessingTime: number;
  /** Calls onEventTime for this key and window when the watermark reaches `time`. */
  registerEventTimeTimer(time: number): void;
  /** Calls onProcessingTime for this key and window when the wall clock reaches `time`. */
  registerProcessingTimeTimer(time: number): void;
  /** Removes an event-time timer of this key and window. */
  deleteEventTimeTimer(time: number): void;
  /** Removes a processing-time timer of this key and window. */
  deleteProcessingTimeTimer(time: number): void;
  /** State of this trigger for the current key and window. */
  state<T>(name: string): TriggerState<T>;
}

/** Decides when a window emits its contents (Flink's `Trigger`); `windowed.trigger(t)` replaces the assigner's default. */
export interface Trigger<T> {
  /** A record was added to `window`. */
  onElement(element: T, timestamp: number, window: TimeWindow, ctx: TriggerContext): TriggerResult;
  /** An event-time timer of this window fired (the watermark reached `time`). */
  onEventTime(time: number, window: TimeWindow, ctx: TriggerContext): TriggerResult;
  /** A processing-time timer of this window fired. */
  onProcessingTime(time: number, window: TimeWindow, ctx: TriggerContext): TriggerResult;
  /** The window is gone: drop its timers and state. */
  clear(window: TimeWindow, ctx: TriggerContext): void;
  /** Session windows merged into `window` (the context is bound to it); `merged` are gone. */
  onMerge?(
    window: TimeWindow,
    merged: TimeWindow[],
    ctx: TriggerContext & { stateOf<S>(name: string, w: TimeWindow): TriggerState<S> },
  ): void;
}

export const fires = (r: TriggerResult): boolean => r === 'FIRE' || r === 'FIRE_AND_PURGE';
export const purges = (r: TriggerResult): boolean => r === 'PURGE' || r === 'FIRE_AND_PURGE';

/** Fires once the watermark passes the window's end, and again for every late record within the allowed lateness. */
export const EventTimeTrigger: Trigger<unknown> = {
  onElement(_e, _ts, w, ctx) {
    if (maxTimestamp(w) <= ctx.currentWatermark) return 'FIRE';
    ctx.registerEventTimeTimer(maxTimestamp(w));
    return 'CONTINUE';
  },
  onEventTime: (time, w) => (time === maxTimestamp(w) ? 'FIRE' : 'CONTINUE'),
  onProcessingTime: () => 'CONTINUE',
  clear(w, ctx) {
    ctx.deleteEventTimeTimer(maxTimestamp(w));
  },
  onMerge(w, _merged, ctx) {
    if (maxTimestamp(w) > ctx.currentWatermark) ctx.registerEventTimeTimer(maxTimestamp(w));
  },
};

/** Fires when the wall clock passes the window's end. */
export const ProcessingTimeTrigger: Trigger<unknown> = {
  onElement(_e, _ts, w, ctx) {
    ctx.registerProcessingTimeTimer(maxTimestamp(w));
    return 'CONTINUE';
  },
  onEventTime: () => 'CONTINUE',
  onProcessingTime: () => 'FIRE',
  clear(w, ctx) {
    ctx.deleteProcessingTimeTimer(maxTimestamp(w));
  },
  onMerge(w, _merged, ctx) {
    ctx.registerProcessingTimeTimer(maxTimestamp(w));
  },
};

/** The global window's default: never fires. */
export const NeverTrigger: Trigger<unknown> = {
  onElement: () => 'CONTINUE',
  onEventTime: () => 'CONTINUE',
  onProcessingTime: () => 'CONTINUE',
  clear() {},
};

/** Fires a window every n records (Flink's `CountTrigger`): `CountTrigger.of(n)`. */
export const CountTrigger = {
  /** Fires every `count` records of a window. */
  of(count: number): Trigger<unknown> {
    if (!Number.isInteger(count) || count < 1)
      throw new EddyError('JOB_INVALID', `CountTrigger.of expects a positive integer, got ${count}`);
    return {
      onElement(_e, _ts, _w, ctx) {
        const s = ctx.state<number>('count');
        const n = (s.get() ?? 0) + 1;
        if (n >= count) {
          s.clear();
          return 'FIRE';
        }
        s.put(n);
        return 'CONTINUE';
      },
      onEventTime: () => 'CONTINUE',
      onProcessingTime: () => 'CONTINUE',
      clear(_w, ctx) {
        ctx.state<number>('count').clear();
      },
      onMerge(w, merged, ctx) {
        let n = 0;
        for (const m of merged) n += ctx.stateOf<number>('count', m).get() ?? 0;
        if (n > 0) ctx.state<number>('count').put(n);
      },
    };
  },
};

/** Turns every FIRE of a trigger into FIRE_AND_PURGE (Flink's `PurgingTrigger`): `PurgingTrigger.of(trigger)`. */
export const PurgingTrigger = {
  /** The same trigger, but every FIRE also purges the window's contents. */
  of<T>(inner: Trigger<T>): Trigger<T> {
    const purge = (r: TriggerResult): TriggerResult => (r === 'FIRE' ? 'FIRE_AND_PURGE' : r);
    return {
      onElement: (e, ts, w, ctx) => purge(inner.onElement(e, ts, w, ctx)),
      onEventTime: (t, w, ctx) => purge(inner.onEventTime(t, w, ctx)),
      onProcessingTime: (t, w, ctx) => purge(inner.onProcessingTime(t, w, ctx)),
      clear: (w, ctx) => inner.clear(w, ctx),
      onMerge: inner.onMerge ? (w, m, ctx) => inner.onMerge!(w, m, ctx) : undefined,
    };
  },
};
