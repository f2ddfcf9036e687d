/**
 * Event-time tumbling and sliding windows with an incremental function (reduce, or aggregate),
 * by window slicing (Flink SQL's SliceAssigner and SlicingWindowOperator): event time is cut
 * into slices of gcd(size, slide), each record updates only its own slice's accumulator, and a
 * window, when the watermark reaches its end, combines the size / slice slices it spans. A
 * sliding window thus costs a record one update instead of size / slide.
 *
 * Records are first combined in memory per (slice, key) — Flink SQL's WindowBuffer — and the
 * buffer is written into keyed state before every watermark advance and at every checkpoint
 * barrier. The record path therefore touches neither the state store nor a namespace nor the
 * timer service; what a checkpoint holds (slice accumulators under '__eddy/window/slices',
 * one timer per key at its next window end) is keyed state like any other, so restore and
 * rescaling by key group work unchanged.
 *
 * Semantics are the general WindowOperator's with the default EventTimeTrigger and no allowed
 * lateness: a window fires once, when the watermark reaches its last instant, if any record
 * fell into it; a record is late, and goes to the late side output, when the last window
 * holding it has already fired. windowOperator (window.ts) picks this path only then.
 */
import type { Collector } from '../api/functions.js';
import { EddyError } from '../failure.js';
import type { KeyedStateStore } from '../state/keyed-store.js';
import type { TaskTime } from '../time/task-time.js';
import { keyedTimerService, type KeyedTimerService } from '../time/timer-service.js';
import { windowStart } from '../time/windows/window.js';
import { OperatorContext } from './context.js';
import { userFunctionFailure } from './failures.js';
import { BaseOperator, type OperatorRuntime } from './operator.js';
import { missingTimestamp, WindowEmitter, type WindowSpec } from './window-output.js';

const SLICES_TABLE = '__eddy/window/slices';

/** One key's accumulator of one slice, in the buffer until the next flush. */
interface Pending {
  key: unknown;
  keyGroup: number;
  acc: unknown;
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** Whether `spec` can run sliced: aligned event-time windows, the default trigger, no lateness, an incremental function that can combine slices. */
export function sliceable(spec: WindowSpec, defaultTrigger: unknown): boolean {
  const a = spec.assigner.aligned;
  if (a === undefined || !spec.assigner.isEventTime || spec.trigger !== defaultTrigger || spec.allowedLateness !== 0) return false;
  // slide > size leaves gaps between windows, whose records belong to none: the general path handles them.
  if (a.slide > a.size) return false;
  if (![a.size, a.slide, a.offset].every(Number.isSafeInteger)) return false;
  const fn = spec.fn;
  if (fn.kind === 'process') return false;
  // Several slices per window are combined with merge (aggregate) or the reduce function itself.
  return fn.kind === 'reduce' || gcd(a.size, a.slide) === a.size || typeof fn.aggregate.merge === 'function';
}

export class SlicedWindowOperator extends BaseOperator<unknown> {
  private readonly store: KeyedStateStore;
  private readonly timers: KeyedTimerService;
  private readonly time: TaskTime;
  private readonly slicesTable: number;
  private readonly ctx: OperatorContext;
  private readonly out: Collector<unknown>;
  private readonly late: Collector<unknown> | undefined;
  private readonly emitter: WindowEmitter;
  private readonly size: number;
  private readonly slide: number;
  private readonly offset: number;
  private readonly slice: number;
  private readonly reduce: ((a: unknown, b: unknown) => unknown) | undefined;
  private readonly add: ((value: unknown, acc: unknown) => unknown) | undefined;
  private readonly create: (() => unknown) | undefined;
  private readonly merge: ((a: unknown, b: unknown) => unknown) | undefined;
  private watermark = -Infinity;
  /** Slice end → stored key → pending accumulator. */
  private readonly buffer = new Map<number, Map<unknown, Pending>>();
  /** The slice of the previous record: [sliceStart, sliceEnd), its buffer, and the end of the last window holding it. */
  private sliceStart = NaN;
  private sliceEnd = NaN;
  private lastWindowEnd = NaN;
  private sliceBuffer: Map<unknown, Pending> | undefined;
  /** Records dropped as late without a side output. */
  lateDropped = 0;

  constructor(spec: WindowSpec, rt: OperatorRuntime, next: Collector<unknown>) {
    super();
    if (!rt.keyedStore) throw new EddyError('JOB_INVALID', `window operator '${rt.displayName}' needs a keyed stream; call keyBy(...) first`);
    const a = spec.assigner.aligned!;
    this.size = a.size;
    this.slide = a.slide;
    this.offset = a.offset;
    this.slice = gcd(a.size, a.slide);
    this.store = rt.keyedStore;
    this.time = rt.time;
    this.ctx = new OperatorContext(rt);
    const op = this;
    this.out = {
      collect(v: unknown) {
        op.recordsOut++;
        next.collect(v);
      },
    };
    this.timers = keyedTimerService({ ...rt, keyedStore: rt.keyedStore });
    this.timers.setCallback((t) => this.fire(t + 1));
    this.slicesTable = this.store.register(SLICES_TABLE, 'map');
    this.late = spec.lateTag === undefined ? undefined : this.ctx.sideOutput(spec.lateTag);
    this.emitter = new WindowEmitter(spec.fn, rt.time, this.out, this.ctx, () => this.watermark);
    const fn = spec.fn;
    if (fn.kind === 'reduce') this.reduce = fn.reduce;
    else if (fn.kind === 'aggregate') {
      this.add = fn.aggregate.add as (value: unknown, acc: unknown) => unknown;
      this.create = fn.aggregate.createAccumulator;
      this.merge = fn.aggregate.merge as ((a: unknown, b: unknown) => unknown) | undefined;
    }
  }

  // ---- records: one buffer update each ----
  collect(value: unknown): void {
    this.recordsIn++;
    const ts = this.time.timestamp;
    if (!(ts >= this.sliceStart && ts < this.sliceEnd)) {
      if (ts !== ts) throw missingTimestamp(this.ctx);
      this.toSlice(ts);
    }
    if (this.lastWindowEnd - 1 <= this.watermark) {
      // Every window holding the record has fired (no allowed lateness on this path).
      if (this.late) this.late.collect(value);
      else this.lateDropped++;
      return;
    }
    const s = this.store;
    const key = s.currentKey;
    const id = typeof key === 'object' && key !== null ? JSON.stringify(key) : key;
    let buf = this.sliceBuffer;
    if (buf === undefined) {
      buf = this.buffer.get(this.sliceEnd);
      if (buf === undefined) this.buffer.set(this.sliceEnd, (buf = new Map()));
      this.sliceBuffer = buf;
    }
    let p = buf.get(id);
    if (p === undefined) {
      // Start from what state holds for this slice already, so flushing only writes back.
      const stored = s.getEntry(this.slicesTable, this.sliceEnd) as [unknown, unknown] | undefined;
      p = { key, keyGroup: s.currentKeyGroup, acc: stored === undefined ? undefined : stored[1] };
      buf.set(id, p);
      if (stored === undefined && this.create !== undefined) p.acc = this.call0(this.create);
      else if (stored === undefined) {
        p.acc = value; // a reduce starts from its first value
        return;
      }
    }
    try {
      p.acc = this.reduce !== undefined ? this.reduce(p.acc, value) : this.add!(value, p.acc);
    } catch (err) {
      throw userFunctionFailure(err, this.ctx);
    }
  }

  private call0(f: () => unknown): unknown {
    try {
      return f();
    } catch (err) {
      throw userFunctionFailure(err, this.ctx);
    }
  }

  private toSlice(ts: number): void {
    const start = windowStart(ts, this.offset, this.slice);
    this.sliceStart = start;
    this.sliceEnd = start + this.slice;
    // The newest window holding the slice starts at the last window start at or before the slice's start.
    this.lastWindowEnd = windowStart(start, this.offset, this.slide) + this.size;
    this.sliceBuffer = undefined;
  }

  /** Writes the buffer into keyed state, with a timer at each (key, slice)'s first window end still to fire. */
  private flush(): void {
    if (this.buffer.size === 0) return;
    const s = this.store;
    const table = this.slicesTable;
    const wm = this.watermark;
    for (const [sliceEnd, buf] of this.buffer) {
      // The first window end at or after the slice's end that the watermark has not passed.
      let end = windowStart(sliceEnd - 1, this.offset + this.size, this.slide) + this.slide;
      while (end - 1 <= wm) end += this.slide;
      for (const p of buf.values()) {
        s.setCurrentKey(p.key, p.keyGroup);
        s.putEntry(table, sliceEnd, p.acc);
        this.timers.registerEventTimeTimer(end - 1, end);
      }
    }
    this.buffer.clear();
    this.sliceBuffer = undefined;
  }

  // ---- time ----
  processWatermark(watermark: number): void {
    if (watermark <= this.watermark) return;
    this.flush(); // with the old watermark: the buffered records arrived before the new one
    this.watermark = watermark;
    this.timers.advanceWatermark(watermark);
  }

  /** The window ending at `end` fires for the current key: combine its slices, drop those no later window needs, and chain the next window's timer. */
  private fire(end: number): void {
    const s = this.store;
    const table = this.slicesTable;
    const start = end - this.size;
    let acc: unknown = undefined;
    let any = false;
    if (this.slice === this.size) {
      const e = s.getEntry(table, end) as [unknown, unknown] | undefined;
      if (e === undefined) return;
      s.removeEntry(table, end);
      this.emitter.emit(s.currentKey, { start, end }, e[1]);
      return;
    }
    const nextStart = start + this.slide;
    let later = false;
    for (const [sliceEnd, value] of s.entries(table) as [number, unknown][]) {
      if (sliceEnd > end) {
        later = true;
        continue;
      }
      if (sliceEnd <= start) {
        s.removeEntry(table, sliceEnd); // not expected: a slice leaves when its last window fires
        continue;
      }
      acc = this.combine(acc, any, value);
      any = true;
      if (sliceEnd - this.slice < nextStart) s.removeEntry(table, sliceEnd);
      else later = true;
    }
    if (later) this.timers.registerEventTimeTimer(end + this.slide - 1, end + this.slide);
    if (any) this.emitter.emit(s.currentKey, { start, end }, acc);
  }

  /** Adds one slice's accumulator to a window's; the slice's own value is never changed (later windows read it too). */
  private combine(acc: unknown, any: boolean, slice: unknown): unknown {
    try {
      if (this.reduce !== undefined) return any ? this.reduce(acc, slice) : copyOf(slice);
      return this.merge!(any ? acc : this.create!(), slice);
    } catch (err) {
      throw userFunctionFailure(err, this.ctx);
    }
  }

  // ---- lifecycle ----
  snapshotState(): void {
    this.flush();
  }

  initializeState(restored: boolean): void {
    if (restored) this.timers.restore();
  }

  override finish(): void {
    this.flush();
  }
}

/** A reduce function may return its first argument changed: a window starts from a copy of its first slice. */
function copyOf(v: unknown): unknown {
  return typeof v === 'object' && v !== null ? structuredClone(v) : v;
}
