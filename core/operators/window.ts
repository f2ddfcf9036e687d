/**
 * The window operator on a keyed stream (Flink's WindowOperator): assigns each record to its
 * windows, keeps every window's contents in keyed state (an accumulator for reduce and
 * aggregate, the records for process), asks the trigger when to emit, and clears a window
 * once the watermark passes its end plus the allowed lateness. Records for windows already
 * cleared are late: dropped, or sent to the late-data side output.
 *
 * Everything lives in the keyed state store (contents, trigger state, session windows) or in
 * its timers (../time/timer-service.ts), so checkpoints, restores and rescaling carry it.
 * Aligned event-time windows with reduce or aggregate, the default trigger and no lateness run
 * on the sliced operator instead (sliced-window.ts); windowOperator below chooses.
 */
import type { Collector } from '../contract/functions.js';
import type { KeyedStateStore } from '../state/keyed-store.js';
import type { TaskTime } from '../time/task-time.js';
import { keyedTimerService, type KeyedTimerService, type TimeDomain } from '../time/timer-service.js';
import type { WindowAssigner } from '../time/windows/assigners.js';
import {
  EventTimeTrigger,
  fires,
  purges,
  type Trigger,
  type TriggerContext,
  type TriggerResult,
  type TriggerState,
} from '../time/windows/triggers.js';
import { afterMerge, mergeWindow, retireWindow, sessionsOf, storedSessions } from '../time/windows/merging-window-set.js';
import { maxTimestamp, namespaceOf, windowOf, type TimeWindow } from '../time/windows/window.js';
import type { OperatorContext } from './context.js';
import { operatorFailure, userFunctionFailure } from './failures.js';
import { sliceable, SlicedWindowOperator, storedDueWindows } from './sliced-window.js';
import { keyGroupRange } from '../state/key-groups.js';
import { missingTimestamp, otherWindowState, WindowEmitter, windowRuntime, type WindowSpec } from './window-output.js';
import { BaseOperator, type OperatorFactory, type OperatorRuntime } from './operator.js';

export type { ProcessWindowFunction, WindowContext, WindowFunctionSpec, WindowSpec } from './window-output.js';

const CONTENTS_TABLE = '__eddy/window/contents';
const TRIGGER_TABLE = '__eddy/window/trigger';
const SESSIONS_TABLE = '__eddy/window/sessions';

class WindowOperator extends BaseOperator<unknown> implements TriggerContext {
  private readonly store: KeyedStateStore;
  private readonly timers: KeyedTimerService;
  private readonly time: TaskTime;
  private readonly contents: number;
  private readonly triggerState: number;
  private readonly sessions: number;
  private readonly ctx: OperatorContext;
  private readonly out: Collector<unknown>;
  private readonly late: Collector<unknown> | undefined;
  private readonly merging: boolean;
  /** The window the trigger context is bound to. */
  private window: TimeWindow = { start: 0, end: 0 };
  private readonly emitter: WindowEmitter;
  /** Records dropped as late without a side output (a metric for tests and users). */
  lateDropped = 0;

  constructor(
    private readonly spec: WindowSpec,
    rt: OperatorRuntime,
    next: Collector<unknown>,
  ) {
    super();
    ({ store: this.store, ctx: this.ctx, out: this.out } = windowRuntime(this, rt, next));
    this.time = rt.time;
    this.timers = keyedTimerService({ ...rt, keyedStore: this.store });
    this.timers.setCallback((t, key, ns, domain) => this.onTimer(t, key, ns, domain));
    this.contents = this.store.register(CONTENTS_TABLE, 'map');
    this.triggerState = this.store.register(TRIGGER_TABLE, 'map');
    this.sessions = this.store.register(SESSIONS_TABLE, 'value');
    this.merging = spec.assigner.sessionGap !== undefined;
    this.late = spec.lateTag === undefined ? undefined : this.ctx.sideOutput(spec.lateTag);
    this.emitter = new WindowEmitter(spec.fn, rt.time, this.out, this.ctx, () => this.timers.currentWatermark);
  }

  // ---- TriggerContext, bound to this.window ----
  get currentWatermark(): number {
    return this.timers.currentWatermark;
  }
  get currentProcessingTime(): number {
    return Date.now();
  }
  registerEventTimeTimer(t: number): void {
    this.timers.registerEventTimeTimer(t, namespaceOf(this.window));
  }
  registerProcessingTimeTimer(t: number): void {
    this.timers.registerProcessingTimeTimer(t, namespaceOf(this.window));
  }
  deleteEventTimeTimer(t: number): void {
    this.timers.deleteEventTimeTimer(t, namespaceOf(this.window));
  }
  deleteProcessingTimeTimer(t: number): void {
    this.timers.deleteProcessingTimeTimer(t, namespaceOf(this.window));
  }
  state<T>(name: string): TriggerState<T> {
    return this.stateOf<T>(name, this.window);
  }
  stateOf<T>(name: string, w: TimeWindow): TriggerState<T> {
    const s = this.store;
    const table = this.triggerState;
    const id = [name, w.start, w.end];
    return {
      get: () => entryValue(s, table, id) as T | undefined,
      put: (v: T) => s.putEntry(table, id, v),
      clear: () => s.removeEntry(table, id),
    };
  }

  // ---- records ----
  collect(value: unknown): void {
    this.recordsIn++;
    const spec = this.spec;
    const ts = this.time.timestamp;
    if (spec.assigner.isEventTime && ts !== ts) {
      throw missingTimestamp(this.ctx);
    }
    // Only processing-time assigners read the clock: no Date.now() per record for event time.
    const windows = spec.assigner.assignWindows(ts, spec.assigner.isEventTime ? NaN : Date.now());
    let skipped = true;
    if (this.merging) {
      const w = this.addSessionWindow(windows[0]);
      if (w !== undefined) {
        skipped = false;
        this.addToWindow(w, value, ts);
      }
    } else {
      for (const w of windows) {
        if (this.isWindowLate(w)) continue;
        skipped = false;
        this.addToWindow(w, value, ts);
      }
    }
    if (skipped && spec.assigner.isEventTime && ts + spec.allowedLateness <= this.timers.currentWatermark) {
      if (this.late) this.late.collect(value);
      else this.lateDropped++;
    }
  }

  private addToWindow(w: TimeWindow, value: unknown, ts: number): void {
    const s = this.store;
    const ns = namespaceOf(w);
    const fn = this.spec.fn;
    const cur = entryValue(s, this.contents, ns);
    let next: unknown;
    try {
      if (fn.kind === 'reduce') next = cur === undefined ? value : fn.reduce(cur, value);
      else if (fn.kind === 'aggregate') next = fn.aggregate.add(value, cur === undefined ? fn.aggregate.createAccumulator() : cur);
      else {
        next = cur === undefined ? [] : cur;
        (next as unknown[]).push(value);
      }
    } catch (err) {
      throw userFunctionFailure(err, this.ctx);
    }
    s.putEntry(this.contents, ns, next);
    this.window = w;
    const r = this.trigger((t) => t.onElement(value, ts, w, this));
    this.act(r, w);
    this.registerCleanupTimer(w);
  }

  private trigger(call: (t: Trigger<unknown>) => TriggerResult): TriggerResult {
    try {
      return call(this.spec.trigger);
    } catch (err) {
      throw operatorFailure(err, 'USER_FUNCTION_FAILED', 'window trigger threw', this.ctx.operatorUid, this.ctx.subtaskIndex);
    }
  }

  private act(r: TriggerResult, w: TimeWindow): void {
    if (r === 'CONTINUE') return;
    const ns = namespaceOf(w);
    if (fires(r)) {
      const acc = entryValue(this.store, this.contents, ns);
      if (acc !== undefined) this.emitter.emit(this.store.currentKey, w, acc);
    }
    if (purges(r)) this.store.removeEntry(this.contents, ns);
  }

  // ---- time ----
  private cleanupTime(w: TimeWindow): number {
    return this.spec.assigner.isEventTime ? maxTimestamp(w) + this.spec.allowedLateness : maxTimestamp(w);
  }

  private isWindowLate(w: TimeWindow): boolean {
    return this.spec.assigner.isEventTime && this.cleanupTime(w) <= this.timers.currentWatermark;
  }

  private registerCleanupTimer(w: TimeWindow): void {
    const t = this.cleanupTime(w);
    if (t === Infinity) return; // the global window lives for ever
    if (this.spec.assigner.isEventTime) this.timers.registerEventTimeTimer(t, namespaceOf(w));
    else this.timers.registerProcessingTimeTimer(t, namespaceOf(w));
  }

  private deleteCleanupTimer(w: TimeWindow): void {
    const t = this.cleanupTime(w);
    if (t === Infinity) return;
    if (this.spec.assigner.isEventTime) this.timers.deleteEventTimeTimer(t, namespaceOf(w));
    else this.timers.deleteProcessingTimeTimer(t, namespaceOf(w));
  }

  processWatermark(watermark: number): void {
    this.timers.advanceWatermark(watermark);
  }

  private onTimer(t: number, _key: unknown, ns: unknown, domain: TimeDomain): void {
    const w = windowOf(ns);
    this.window = w;
    const r = this.trigger((tr) => (domain === 'event' ? tr.onEventTime(t, w, this) : tr.onProcessingTime(t, w, this)));
    this.act(r, w);
    if ((domain === 'event') === this.spec.assigner.isEventTime && t === this.cleanupTime(w)) this.clearAll(w);
  }

  private clearAll(w: TimeWindow): void {
    this.store.removeEntry(this.contents, namespaceOf(w));
    this.window = w;
    this.spec.trigger.clear(w, this);
    if (this.merging) {
      const rest = storedSessions(retireWindow(sessionsOf(this.store.get(this.sessions)), w));
      if (rest === undefined) this.store.remove(this.sessions);
      else this.store.put(this.sessions, rest);
    }
  }

  // ---- session windows ----
  /**
   * Adds the record's window to the key's sessions, merging every session it touches. Returns
   * the window the record belongs to, or undefined when that window is new and already late.
   */
  private addSessionWindow(w: TimeWindow): TimeWindow | undefined {
    const s = this.store;
    const sessions = sessionsOf(s.get(this.sessions));
    const m = mergeWindow(sessions, w);
    if (m.existing) return m.result;
    if (m.absorbed.length === 0 && this.isWindowLate(m.result)) return undefined;
    if (m.absorbed.length > 0) this.mergeWindows(m.result, m.absorbed);
    s.put(this.sessions, storedSessions(afterMerge(sessions, m)));
    return m.result;
  }

  private mergeWindows(result: TimeWindow, merged: TimeWindow[]): void {
    const s = this.store;
    const fn = this.spec.fn;
    this.window = result;
    const trig = this.spec.trigger;
    trig.onMerge?.(result, merged, this);
    let acc: unknown = undefined;
    for (const m of merged) {
      this.window = m;
      trig.clear(m, this);
      this.deleteCleanupTimer(m);
      const ns = namespaceOf(m);
      const c = entryValue(s, this.contents, ns);
      s.removeEntry(this.contents, ns);
      if (c === undefined) continue;
      if (acc === undefined) acc = c;
      else {
        try {
          if (fn.kind === 'reduce') acc = fn.reduce(acc, c);
          else if (fn.kind === 'aggregate') acc = fn.aggregate.merge!(acc, c);
          else (acc as unknown[]).push(...(c as unknown[]));
        } catch (err) {
          throw userFunctionFailure(err, this.ctx);
        }
      }
    }
    this.window = result;
    if (acc !== undefined) s.putEntry(this.contents, namespaceOf(result), acc);
  }

  // ---- lifecycle ----
  initializeState(restored: boolean): void {
    if (!restored) return;
    const range = keyGroupRange(this.ctx.subtaskIndex, this.ctx.maxParallelism, this.ctx.parallelism);
    if (storedDueWindows(this.store, range) > 0)
      throw otherWindowState(this.ctx, 'the open windows of a sliced window operator', 'the general window operator');
    this.timers.restore();
  }

  override finish(): void {
    // End of a bounded input: event time already went to +Infinity. Windows on the wall clock
    // fire now too rather than being lost with the job.
    if (!this.spec.assigner.isEventTime) this.timers.onTick(Infinity);
  }
}

/**
 * The window operator for `spec`: sliced (sliced-window.ts) when the windows are aligned, the
 * trigger the default one, no lateness allowed and the function incremental; else the general one.
 */
export const windowOperator = (spec: WindowSpec): OperatorFactory => {
  const sliced = sliceable(spec, EventTimeTrigger);
  return (rt, next) => (sliced ? new SlicedWindowOperator(spec, rt, next) : new WindowOperator(spec, rt, next));
};

/** A map-state entry's value (the store keeps [userKey, value] pairs). */
function entryValue(s: KeyedStateStore, table: number, userKey: unknown): unknown {
  const e = s.getEntry(table, userKey) as [unknown, unknown] | undefined;
  return e === undefined ? undefined : e[1];
}
