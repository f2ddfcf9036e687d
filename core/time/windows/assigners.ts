/**
 * Window assigners: which windows a record belongs to, from its timestamp (event time) or the
 * wall clock (processing time), and the trigger each kind of window uses by default.
 */
import { EddyError } from '../../failure.js';
import { EventTimeTrigger, NeverTrigger, ProcessingTimeTrigger, type Trigger } from './triggers.js';
import { GLOBAL_WINDOW, windowStart, type TimeWindow } from './window.js';

/** Assigns each record to windows (Flink's `WindowAssigner`); made by `TumblingEventTimeWindows.of(...)` and the like. */
export interface WindowAssigner {
  /** The kind of window, for messages and plans. */
  readonly kind: string;
  /** True for event-time windows (by record timestamp), false for processing time (wall clock). */
  readonly isEventTime: boolean;
  /** Session windows: the gap that separates sessions (windows of a key merge within it). */
  readonly sessionGap?: number;
  /** Tumbling and sliding windows: every window is [k·slide + offset, k·slide + offset + size), k integer (what window slicing cuts time by). */
  readonly aligned?: { readonly size: number; readonly slide: number; readonly offset: number };
  /**
   * The windows of a record with event timestamp `ts`, at wall-clock time `now`. The array and
   * its windows are read-only: an assigner may hand the same ones to consecutive records of
   * the same windows (most records fall into the previous record's windows).
   */
  assignWindows(ts: number, now: number): readonly TimeWindow[];
  /** The trigger used unless `windowed.trigger(...)` sets another (fires at the window's end). */
  defaultTrigger(): Trigger<unknown>;
}

function positiveMs(what: string, ms: number): number {
  if (!(ms > 0) || !Number.isFinite(ms)) throw new EddyError('JOB_INVALID', `${what} expects a positive number of milliseconds, got ${ms}`);
  return ms;
}

function offsetMs(what: string, offset: number, size: number): number {
  if (!Number.isFinite(offset) || Math.abs(offset) >= size)
    throw new EddyError('JOB_INVALID', `${what}: offset must be smaller than the size in magnitude, got ${offset}`);
  return offset;
}

/** Windows by time, on the record's timestamp or on the wall clock. */
abstract class TimeAssigner implements WindowAssigner {
  readonly kind: string;
  constructor(
    readonly isEventTime: boolean,
    name: string,
  ) {
    this.kind = `${name}${isEventTime ? 'EventTime' : 'ProcessingTime'}Windows`;
  }
  abstract assignWindows(ts: number, now: number): readonly TimeWindow[];
  defaultTrigger(): Trigger<unknown> {
    return this.isEventTime ? EventTimeTrigger : ProcessingTimeTrigger;
  }
}

class Tumbling extends TimeAssigner {
  constructor(
    isEventTime: boolean,
    private readonly size: number,
    private readonly offset: number,
  ) {
    super(isEventTime, 'Tumbling');
    this.aligned = { size, slide: size, offset };
  }
  readonly aligned: { size: number; slide: number; offset: number };
  private last: readonly TimeWindow[] = [{ start: NaN, end: NaN }];
  assignWindows(ts: number, now: number): readonly TimeWindow[] {
    const t = this.isEventTime ? ts : now;
    const start = windowStart(t, this.offset, this.size);
    if (this.last[0].start !== start) this.last = [{ start, end: start + this.size }];
    return this.last;
  }
}

class Sliding extends TimeAssigner {
  constructor(
    isEventTime: boolean,
    private readonly size: number,
    private readonly slide: number,
    private readonly offset: number,
  ) {
    super(isEventTime, 'Sliding');
    this.aligned = { size, slide, offset };
  }
  readonly aligned: { size: number; slide: number; offset: number };
  private last: readonly TimeWindow[] = [];
  assignWindows(ts: number, now: number): readonly TimeWindow[] {
    const t = this.isEventTime ? ts : now;
    const newest = windowStart(t, this.offset, this.slide);
    // The same windows as the previous record: same newest start, and the oldest still holds t
    // while the one before it would not (the count can differ within a slide when the size
    // is not a multiple of it).
    const prev = this.last;
    if (
      prev.length > 0 &&
      prev[0].start === newest &&
      prev[prev.length - 1].start > t - this.size &&
      prev[prev.length - 1].start - this.slide <= t - this.size
    )
      return prev;
    const out: TimeWindow[] = [];
    for (let start = newest; start > t - this.size; start -= this.slide) out.push({ start, end: start + this.size });
    this.last = out;
    return out;
  }
}

class Sessions extends TimeAssigner {
  constructor(
    isEventTime: boolean,
    readonly sessionGap: number,
  ) {
    super(isEventTime, 'Session');
  }
  assignWindows(ts: number, now: number): readonly TimeWindow[] {
    const t = this.isEventTime ? ts : now;
    return [{ start: t, end: t + this.sessionGap }];
  }
}

class Global implements WindowAssigner {
  readonly kind = 'GlobalWindows';
  readonly isEventTime = false;
  private readonly all: readonly TimeWindow[] = [GLOBAL_WINDOW];
  assignWindows(): readonly TimeWindow[] {
    return this.all;
  }
  defaultTrigger(): Trigger<unknown> {
    return NeverTrigger;
  }
}

/** Fixed-size, non-overlapping event-time windows: `of(sizeMs, offsetMs?)`, windows `[k*size + offset, (k+1)*size + offset)`. */
export const TumblingEventTimeWindows = {
  of: (sizeMs: number, offsetMs_ = 0): WindowAssigner =>
    new Tumbling(true, positiveMs('TumblingEventTimeWindows.of', sizeMs), offsetMs('TumblingEventTimeWindows.of', offsetMs_, sizeMs)),
};
/** Fixed-size, non-overlapping windows of wall-clock time: `of(sizeMs, offsetMs?)`. */
export const TumblingProcessingTimeWindows = {
  of: (sizeMs: number, offsetMs_ = 0): WindowAssigner =>
    new Tumbling(
      false,
      positiveMs('TumblingProcessingTimeWindows.of', sizeMs),
      offsetMs('TumblingProcessingTimeWindows.of', offsetMs_, sizeMs),
    ),
};
/** Event-time windows of `sizeMs` starting every `slideMs` (a record is in size/slide windows): `of(sizeMs, slideMs, offsetMs?)`. */
export const SlidingEventTimeWindows = {
  of: (sizeMs: number, slideMs: number, offsetMs_ = 0): WindowAssigner =>
    new Sliding(
      true,
      positiveMs('SlidingEventTimeWindows.of', sizeMs),
      positiveMs('SlidingEventTimeWindows.of (slide)', slideMs),
      offsetMs('SlidingEventTimeWindows.of', offsetMs_, slideMs),
    ),
};
/** Sliding windows of wall-clock time: `of(sizeMs, slideMs, offsetMs?)`. */
export const SlidingProcessingTimeWindows = {
  of: (sizeMs: number, slideMs: number, offsetMs_ = 0): WindowAssigner =>
    new Sliding(
      false,
      positiveMs('SlidingProcessingTimeWindows.of', sizeMs),
      positiveMs('SlidingProcessingTimeWindows.of (slide)', slideMs),
      offsetMs('SlidingProcessingTimeWindows.of', offsetMs_, slideMs),
    ),
};
/** Per-key sessions in event time, closed by a gap of inactivity: `withGap(gapMs)`; overlapping sessions merge. */
export const EventTimeSessionWindows = {
  withGap: (gapMs: number): WindowAssigner => new Sessions(true, positiveMs('EventTimeSessionWindows.withGap', gapMs)),
};
/** Per-key sessions in wall-clock time: `withGap(gapMs)`. */
export const ProcessingTimeSessionWindows = {
  withGap: (gapMs: number): WindowAssigner => new Sessions(false, positiveMs('ProcessingTimeSessionWindows.withGap', gapMs)),
};
/** One window per key over all time, fired only by a trigger: `GlobalWindows.create()` (what `countWindow(n)` uses). */
export const GlobalWindows = {
  /** One window per key holding everything; it fires only by a trigger (e.g. CountTrigger). */
  create: (): WindowAssigner => new Global(),
};
