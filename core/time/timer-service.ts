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
 * A timer's entry is its id (a string, see timerId) → [time, key, namespace].
 */
import type { TimerService } from '../contract/functions.js';
import { EddyError } from '../failure.js';
import { reservedEntryCount, type KeyedStateStore } from '../state/keyed-store.js';
import { keyGroupRange } from '../state/key-groups.js';
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
  /**
   * Per table, timers known to be set: primitive key → namespace → time. The default trigger
   * registers its window's timer again for every record of the window; with this the repeat
   * costs two Map lookups instead of building and hashing the timer's id. Only a cache: it is
   * empty after a restore, and an entry leaves when its timer fires or is deleted.
   */
  private readonly setEvent = new Map<unknown, Map<unknown, number>>();
  private readonly setProc = new Map<unknown, Map<unknown, number>>();

  constructor(
    private readonly store: KeyedStateStore,
    private readonly range: { start: number; end: number },
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
    this.setEvent.clear();
    this.setProc.clear();
    const s = this.store;
    const key = s.currentKey;
    const keyGroup = s.currentKeyGroup;
    for (let kg = this.range.start; kg <= this.range.end; kg++) {
      s.setCurrentKey(TIMERS_KEY, kg);
      for (const [id, v] of s.entries(this.eventTable)) this.eventHeap.push(this.restored(id, v, kg));
      for (const [id, v] of s.entries(this.procTable)) this.procHeap.push(this.restored(id, v, kg));
    }
    if (key !== undefined) s.setCurrentKey(key, keyGroup);
    this.reschedule();
  }

  /** A timer entry read back on restore (the current key is the timers' reserved key). */
  private restored(id: unknown, value: unknown, keyGroup: number): Timer {
    if (!Array.isArray(value)) {
      // Checkpoints of eddy before timer ids became strings: the id was the timer, the value 1,
      // and window namespaces [start, end] (window contents were keyed by them too).
      throw new EddyError(
        'STATE_NOT_RESTORED',
        `the timers in this checkpoint (key group ${keyGroup}, timer ${JSON.stringify(id)}) were written by an earlier version of eddy, whose timer and window state this version cannot read; start the job without restoring, or restore with the version that wrote it`,
      );
    }
    const [time, key, namespace] = value as [number, unknown, unknown];
    return { time, key, keyGroup, namespace };
  }

  registerEventTimeTimer(time: number, namespace: unknown = null): void {
    this.register(this.eventTable, this.eventHeap, this.setEvent, time, namespace);
  }

  registerProcessingTimeTimer(time: number, namespace: unknown = null): void {
    this.register(this.procTable, this.procHeap, this.setProc, time, namespace);
    this.reschedule();
  }

  deleteEventTimeTimer(time: number, namespace: unknown = null): void {
    this.remove(this.eventTable, this.setEvent, time, namespace);
  }

  deleteProcessingTimeTimer(time: number, namespace: unknown = null): void {
    this.remove(this.procTable, this.setProc, time, namespace);
  }

  /** Fires every event-time timer at or before the new watermark. */
  advanceWatermark(wm: number): void {
    if (wm <= this.watermark) return;
    this.watermark = wm;
    this.fire(this.eventTable, this.eventHeap, this.setEvent, wm, 'event');
  }

  onTick(now: number): number {
    this.fire(this.procTable, this.procHeap, this.setProc, now, 'processing');
    return this.procHeap.peekTime();
  }

  private reschedule(): void {
    const next = this.procHeap.peekTime();
    if (next !== this.due) {
      this.due = next;
      this.time.reschedule();
    }
  }

  private register(table: number, heap: TimerHeap, known: Map<unknown, Map<unknown, number>>, time: number, namespace: unknown): void {
    const s = this.store;
    const key = s.currentKey;
    // Composite keys are new objects per record: a Map by identity would only collect them.
    const primitive = typeof key !== 'object' || key === null;
    let byNs: Map<unknown, number> | undefined;
    if (primitive) {
      byNs = known.get(key);
      if (byNs !== undefined && byNs.get(namespace) === time) return;
    }
    const kg = s.currentKeyGroup;
    const id = timerId(time, key, namespace);
    s.setCurrentKey(TIMERS_KEY, kg);
    const fresh = !s.hasEntry(table, id);
    if (fresh) s.putEntry(table, id, [time, key, namespace]);
    s.setCurrentKey(key, kg);
    if (fresh) heap.push({ time, key, keyGroup: kg, namespace });
    if (primitive) {
      if (byNs === undefined) known.set(key, (byNs = new Map()));
      byNs.set(namespace, time);
    }
  }

  /** Timer (key, namespace, time) is no longer set. */
  private forget(known: Map<unknown, Map<unknown, number>>, key: unknown, namespace: unknown, time: number): void {
    const byNs = known.get(key);
    if (byNs === undefined || byNs.get(namespace) !== time) return;
    if (byNs.size === 1) known.delete(key);
    else byNs.delete(namespace);
  }

  private remove(table: number, known: Map<unknown, Map<unknown, number>>, time: number, namespace: unknown): void {
    const s = this.store;
    const key = s.currentKey;
    this.forget(known, key, namespace, time);
    const kg = s.currentKeyGroup;
    s.setCurrentKey(TIMERS_KEY, kg);
    s.removeEntry(table, timerId(time, key, namespace));
    s.setCurrentKey(key, kg);
  }

  private fire(table: number, heap: TimerHeap, known: Map<unknown, Map<unknown, number>>, upTo: number, domain: TimeDomain): void {
    const s = this.store;
    const time = this.time;
    while (heap.size > 0 && heap.peekTime() <= upTo) {
      const t = heap.pop()!;
      this.forget(known, t.key, t.namespace, t.time);
      const id = timerId(t.time, t.key, t.namespace);
      s.setCurrentKey(TIMERS_KEY, t.keyGroup);
      if (!s.hasEntry(table, id)) continue; // deleted, or a duplicate heap entry already fired
      s.removeEntry(table, id);
      s.setCurrentKey(t.key, t.keyGroup);
      time.timestamp = t.time;
      this.onTimer(t.time, t.key, t.namespace, domain);
    }
  }
}

/**
 * A timer's id in its table. A string, so the store uses it as a map key as it is: the
 * default trigger registers a timer for every record, and deduplicating it by an array key
 * meant a JSON encoding each time. The key's type is part of the id (5 and '5' are two keys).
 */
function timerId(time: number, key: unknown, namespace: unknown): string {
  const k = typeof key === 'number' ? `n${key}` : typeof key === 'string' ? `s${key}` : `j${JSON.stringify(key)}`;
  return `${time}|${namespace === null || namespace === undefined ? '' : String(namespace)}|${k}`;
}

/**
 * `ctx.timers` of a keyed process function: the user's timers, without a namespace. Timers are
 * keyed state, so like any state they need the operator's uid to be restorable.
 */
export function userTimerService(
  s: KeyedTimerService,
  owner: { uid: string | undefined; displayName: string; subtask: number },
): TimerService {
  const check = (t: number): number => {
    if (owner.uid === undefined) {
      throw new EddyError(
        'UID_REQUIRED',
        `operator '${owner.displayName}' registers timers but has no uid; add .uid('...') after it so its timers can be restored`,
        {
          operatorUid: owner.displayName,
          subtask: owner.subtask,
        },
      );
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
  if (typeof t !== 'number' || !Number.isFinite(t))
    throw new EddyError('BAD_TIMESTAMP', `a timer needs a finite time in milliseconds, got ${String(t)}`);
  return t;
}

/** How many event-time timers a KeyedTimerService left in `store` over key groups `range` (for an operator that must refuse another's state). */
export function storedEventTimers(store: KeyedStateStore, range: { start: number; end: number }): number {
  return reservedEntryCount(store, EVENT_TIMERS_TABLE, TIMERS_KEY, range);
}

/** A timer service for an operator on a keyed stream, over its key-group range. */
export function keyedTimerService(rt: {
  keyedStore: KeyedStateStore;
  subtaskIndex: number;
  parallelism: number;
  maxParallelism: number;
  time: TaskTime;
}): KeyedTimerService {
  return new KeyedTimerService(rt.keyedStore, keyGroupRange(rt.subtaskIndex, rt.maxParallelism, rt.parallelism), rt.time);
}
