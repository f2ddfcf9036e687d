/**
 * Event-time and processing-time timers of one keyed operator (Flink's
 * InternalTimerService).
 *
 * The timers themselves live in the operator's keyed state store, in two reserved map
 * tables, one entry per timer under a reserved key in the timer's key group. So they are
 * deduplicated by the map, and snapshot, restore and rescaling by key group carry them with
 * the rest of the keyed state on any backend — only the KeyedStateStore contract is used. An
 * in-memory min-heap orders them for firing; it is rebuilt from the tables on restore.
 * Deleting a timer removes its state entry only; the heap entry is skipped when it comes up.
 */
import type { TimerService } from '../api/functions.js';
import { EddyError } from '../failure.js';
import type { KeyedStateStore } from '../state/keyed-store.js';
import { keyGroupFor, keyGroupRange } from '../state/key-groups.js';
import type { TaskTime, TimeTicker } from './task-time.js';
import { TimerHeap, type Timer } from './timer-heap.js';

export const EVENT_TIMERS_TABLE = '__eddy/timers/event';
export const PROCESSING_TIMERS_TABLE = '__eddy/timers/processing';
/** The key under which a key group's timers are stored (a table of its own, so no clash). */
const TIMERS_KEY = '__eddy/timers';

export type TimeDomain = 'event' | 'processing';

/** Called for every due timer, with the store's current key set to the timer's key. */
export type TimerCallback = (time: number, key: unknown, namespace: unknown, domain: TimeDomain) => void;

export class KeyedTimerService implements TimeTicker {
  due = Infinity;
  private readonly eventTable: number;
  private readonly procTable: number;
  private readonly eventHeap = new TimerHeap();
  private readonly procHeap = new TimerHeap();
  private watermark = -Infinity;
  private onTimer: TimerCallback = () => {};

  constructor(
    private readonly store: KeyedStateStore,
    private readonly range: { start: number; end: number },
    private readonly maxParallelism: number,
    private readonly time: TaskTime,
  ) {
    this.eventTable = store.register(EVENT_TIMERS_TABLE, 'map');
    this.procTable = store.register(PROCESSING_TIMERS_TABLE, 'map');
    time.addTicker(this);
  }

  setCallback(cb: TimerCallback): void {
    this.onTimer = cb;
  }

  get currentWatermark(): number {
    return this.watermark;
  }

  /** Rebuilds the heaps from the tables (after a restore; no-op on an empty store). */
  restore(): void {
    this.eventHeap.clear();
    this.procHeap.clear();
    const s = this.store;
    const key = s.currentKey;
    for (let kg = this.range.start; kg <= this.range.end; kg++) {
      s.setCurrentKey(TIMERS_KEY, kg);
      for (const [k] of s.entries(this.eventTable)) this.eventHeap.push(timerOf(k, kg));
      for (const [k] of s.entries(this.procTable)) this.procHeap.push(timerOf(k, kg));
    }
    if (key !== undefined) s.setCurrentKey(key, keyGroupFor(key, this.maxParallelism));
    this.reschedule();
  }

  registerEventTimeTimer(time: number, namespace: unknown = null): void {
    this.register(this.eventTable, this.eventHeap, time, namespace);
  }

  registerProcessingTimeTimer(time: number, namespace: unknown = null): void {
    this.register(this.procTable, this.procHeap, time, namespace);
    this.reschedule();
  }

  deleteEventTimeTimer(time: number, namespace: unknown = null): void {
    this.remove(this.eventTable, time, namespace);
  }

  deleteProcessingTimeTimer(time: number, namespace: unknown = null): void {
    this.remove(this.procTable, time, namespace);
  }

  /** Fires every event-time timer at or before the new watermark. */
  advanceWatermark(wm: number): void {
    if (wm <= this.watermark) return;
    this.watermark = wm;
    this.fire(this.eventTable, this.eventHeap, wm, 'event');
  }

  onTick(now: number): number {
    this.fire(this.procTable, this.procHeap, now, 'processing');
    return this.procHeap.peekTime();
  }

  private reschedule(): void {
    const next = this.procHeap.peekTime();
    if (next !== this.due) {
      this.due = next;
      this.time.reschedule();
    }
  }

  private register(table: number, heap: TimerHeap, time: number, namespace: unknown): void {
    const s = this.store;
    const key = s.currentKey;
    const kg = keyGroupFor(key, this.maxParallelism);
    const id = [time, key, namespace];
    s.setCurrentKey(TIMERS_KEY, kg);
    const fresh = !s.hasEntry(table, id);
    if (fresh) s.putEntry(table, id, 1);
    s.setCurrentKey(key, kg);
    if (fresh) heap.push({ time, key, keyGroup: kg, namespace });
  }

  private remove(table: number, time: number, namespace: unknown): void {
    const s = this.store;
    const key = s.currentKey;
    const kg = keyGroupFor(key, this.maxParallelism);
    s.setCurrentKey(TIMERS_KEY, kg);
    s.removeEntry(table, [time, key, namespace]);
    s.setCurrentKey(key, kg);
  }

  private fire(table: number, heap: TimerHeap, upTo: number, domain: TimeDomain): void {
    const s = this.store;
    const time = this.time;
    while (heap.size > 0 && heap.peekTime() <= upTo) {
      const t = heap.pop()!;
      const id = [t.time, t.key, t.namespace];
      s.setCurrentKey(TIMERS_KEY, t.keyGroup);
      if (!s.hasEntry(table, id)) continue; // deleted, or a duplicate heap entry already fired
      s.removeEntry(table, id);
      s.setCurrentKey(t.key, t.keyGroup);
      time.timestamp = t.time;
      this.onTimer(t.time, t.key, t.namespace, domain);
    }
  }
}

function timerOf(id: unknown, keyGroup: number): Timer {
  const [time, key, namespace] = id as [number, unknown, unknown];
  return { time, key, keyGroup, namespace };
}

/**
 * `ctx.timers` of a keyed process function: the user's timers, without a namespace. Timers are
 * keyed state, so like any state they need the operator's uid to be restorable.
 */
export function userTimerService(s: KeyedTimerService, owner: { uid: string | undefined; displayName: string; subtask: number }): TimerService {
  const check = (t: number): number => {
    if (owner.uid === undefined) {
      throw new EddyError('UID_REQUIRED', `operator '${owner.displayName}' registers timers but has no uid; add .uid('...') after it so its timers can be restored`, {
        operatorUid: owner.displayName,
        subtask: owner.subtask,
      });
    }
    return checkTime(t);
  };
  return {
    currentProcessingTime: () => Date.now(),
    currentWatermark: () => s.currentWatermark,
    registerEventTimeTimer: (t) => s.registerEventTimeTimer(check(t)),
    registerProcessingTimeTimer: (t) => s.registerProcessingTimeTimer(check(t)),
    deleteEventTimeTimer: (t) => s.deleteEventTimeTimer(t),
    deleteProcessingTimeTimer: (t) => s.deleteProcessingTimeTimer(t),
  };
}

function checkTime(t: number): number {
  if (typeof t !== 'number' || !Number.isFinite(t)) throw new EddyError('BAD_TIMESTAMP', `a timer needs a finite time in milliseconds, got ${String(t)}`);
  return t;
}

/** A timer service for an operator on a keyed stream, over its key-group range. */
export function keyedTimerService(rt: {
  keyedStore: KeyedStateStore;
  subtaskIndex: number;
  parallelism: number;
  maxParallelism: number;
  time: TaskTime;
}): KeyedTimerService {
  return new KeyedTimerService(rt.keyedStore, keyGroupRange(rt.subtaskIndex, rt.maxParallelism, rt.parallelism), rt.maxParallelism, rt.time);
}
