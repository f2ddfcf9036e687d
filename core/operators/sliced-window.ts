/**
 * Event-time tumbling and sliding windows with an incremental function (reduce, or aggregate),
 * by window slicing (Flink SQL's SliceAssigner and SlicingWindowOperator): event time is cut
 * into slices of gcd(size, slide), each record updates only its own slice's accumulator, and a
 * window, when the watermark reaches its end, combines the size / slice slices it spans. A
 * sliding window thus costs a record one update instead of size / slide. Slices are combined
 * with the reduce function or the aggregate's merge; an aggregate without merge on sliding
 * windows keeps one pane per window instead (a record updates each of its windows' panes).
 *
 * Records are first combined in memory per (slice, key) — Flink SQL's WindowBuffer — and the
 * buffer is written into keyed state before every watermark advance and at every checkpoint
 * barrier. The record path therefore touches neither the state store nor a namespace nor a
 * timer. Which keys have a window due at which end is an index in memory (the part of Flink's
 * timers this operator needs, without a timer id per key and window); a barrier writes it
 * into keyed state, per key group under a reserved key, beside the slice accumulators, so
 * restore and rescaling by key group carry both like any keyed state.
 *
 * Semantics are the general WindowOperator's with the default EventTimeTrigger and no allowed
 * lateness: a window fires once, when the watermark reaches its last instant, if any record
 * fell into it; a record is late, and goes to the late side output, when the last window
 * holding it has already fired. windowOperator (window.ts) picks this path only then.
 */
import type { Collector } from '../api/functions.js';
import { EddyError } from '../failure.js';
import { storedKey, type KeyedStateStore } from '../state/keyed-store.js';
import type { TaskTime } from '../time/task-time.js';
import { keyGroupRange } from '../state/key-groups.js';
import { windowStart } from '../time/windows/window.js';
import { OperatorContext } from './context.js';
import { userFunctionFailure } from './failures.js';
import { BaseOperator, type OperatorRuntime } from './operator.js';
import { missingTimestamp, WindowEmitter, type WindowSpec } from './window-output.js';

const SLICES_TABLE = '__eddy/window/slices';
/** Per key group, under DUE_KEY: [windowEnd, key] → [windowEnd, key], the due index at the barrier. */
const DUE_TABLE = '__eddy/window/due';
const DUE_KEY = '__eddy/window/due';

/** One key's accumulator of one slice, in the buffer until the next flush; then the key's entry in the due index. */
interface Pending {
  key: unknown;
  keyGroup: number;
  acc: unknown;
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** Whether `spec` can run here: aligned event-time windows, the default trigger, no lateness, an incremental function. */
export function sliceable(spec: WindowSpec, defaultTrigger: unknown): boolean {
  const a = spec.assigner.aligned;
  if (a === undefined || !spec.assigner.isEventTime || spec.trigger !== defaultTrigger || spec.allowedLateness !== 0) return false;
  // slide > size leaves gaps between windows, whose records belong to none: the general path handles them.
  if (a.slide > a.size) return false;
  if (![a.size, a.slide, a.offset].every(Number.isSafeInteger)) return false;
  const fn = spec.fn;
  if (fn.kind === 'process') return false;
  return true;
}

export class SlicedWindowOperator extends BaseOperator<unknown> {
  private readonly store: KeyedStateStore;
  private readonly range: { start: number; end: number };
  private readonly dueTable: number;
  /** Window end → stored key → the key with a window ending there, not fired yet. */
  private readonly due = new Map<number, Map<unknown, Pending>>();
  /** The ends in `due`, ascending (few: the windows not yet fired). */
  private dueEnds: number[] = [];
  private readonly time: TaskTime;
  private readonly slicesTable: number;
  private readonly ctx: OperatorContext;
  private readonly out: Collector<unknown>;
  private readonly late: Collector<unknown> | undefined;
  private readonly emitter: WindowEmitter;
  private readonly size: number;
  private readonly slide: number;
  private readonly offset: number;
  /** Slice length: gcd(size, slide), or the slide with one pane per window. */
  private readonly slice: number;
  /** Each pane is a whole window (keyed by its end), not a slice. */
  private readonly windowPanes: boolean;
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
    // Without merge (an aggregate on sliding windows) slices cannot be combined: one pane per window instead.
    this.windowPanes = spec.fn.kind === 'aggregate' && typeof spec.fn.aggregate.merge !== 'function' && a.slide !== a.size;
    this.slice = this.windowPanes ? a.slide : gcd(a.size, a.slide);
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
    this.range = keyGroupRange(rt.subtaskIndex, rt.maxParallelism, rt.parallelism);
    this.slicesTable = this.store.register(SLICES_TABLE, 'map');
    this.dueTable = this.store.register(DUE_TABLE, 'map');
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
    if (!this.windowPanes) {
      let buf = this.sliceBuffer;
      if (buf === undefined) buf = this.sliceBuffer = this.bufferAt(this.sliceEnd);
      this.addTo(buf, this.sliceEnd, value);
      return;
    }
    // One pane per window (no merge to combine slices): the record updates each window not yet fired.
    for (let end = this.lastWindowEnd; end > ts && end - 1 > this.watermark; end -= this.slide) this.addTo(this.bufferAt(end), end, value);
  }

  private bufferAt(end: number): Map<unknown, Pending> {
    let buf = this.buffer.get(end);
    if (buf === undefined) this.buffer.set(end, (buf = new Map()));
    return buf;
  }

  /** Adds the record to the current key's pending accumulator of pane `end`. */
  private addTo(buf: Map<unknown, Pending>, end: number, value: unknown): void {
    const s = this.store;
    const key = s.currentKey;
    const id = storedKey(key);
    let p = buf.get(id);
    if (p === undefined) {
      // Start from what state holds for this pane already, so flushing only writes back.
      const stored = s.getEntry(this.slicesTable, end) as [unknown, unknown] | undefined;
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

  /** Writes the buffer into keyed state, and marks each (key, slice)'s first window still to fire as due. */
  private flush(): void {
    if (this.buffer.size === 0) return;
    const s = this.store;
    const table = this.slicesTable;
    const wm = this.watermark;
    for (const [sliceEnd, buf] of this.buffer) {
      // The first window end at or after the slice's end that the watermark has not passed.
      let end = windowStart(sliceEnd - 1, this.offset + this.size, this.slide) + this.slide;
      while (end - 1 <= wm) end += this.slide;
      const due = this.dueAt(end);
      for (const [id, p] of buf) {
        s.setCurrentKey(p.key, p.keyGroup);
        s.putEntry(table, sliceEnd, p.acc);
        p.acc = undefined; // state holds it now; the entry lives on in the due index
        if (!due.has(id)) due.set(id, p);
      }
    }
    this.buffer.clear();
    this.sliceBuffer = undefined;
  }

  private dueAt(end: number): Map<unknown, Pending> {
    let m = this.due.get(end);
    if (m === undefined) {
      this.due.set(end, (m = new Map()));
      const ends = this.dueEnds;
      let i = ends.length;
      while (i > 0 && ends[i - 1] > end) i--;
      ends.splice(i, 0, end);
    }
    return m;
  }

  // ---- time ----
  processWatermark(watermark: number): void {
    if (watermark <= this.watermark) return;
    this.flush(); // with the old watermark: the buffered records arrived before the new one
    this.watermark = watermark;
    const s = this.store;
    // Firing a sliding window may make the key due at the next end, which may be due already.
    while (this.dueEnds.length > 0 && this.dueEnds[0] - 1 <= watermark) {
      const end = this.dueEnds.shift()!;
      const keys = this.due.get(end)!;
      this.due.delete(end);
      for (const [id, p] of keys) {
        s.setCurrentKey(p.key, p.keyGroup);
        this.fire(end, id, p);
      }
    }
  }

  /** The window ending at `end` fires for the current key: combine its slices, drop those no later window needs, and make the key due at the next end if slices remain. */
  private fire(end: number, id: unknown, p: Pending): void {
    const s = this.store;
    const table = this.slicesTable;
    const start = end - this.size;
    let acc: unknown = undefined;
    let any = false;
    if (this.windowPanes || this.slice === this.size) {
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
    if (later) {
      const next = this.dueAt(end + this.slide);
      if (!next.has(id)) next.set(id, p);
    }
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
  /** Before state is captured: the buffer goes into state, and the due index replaces its stored copy. */
  snapshotState(): void {
    this.flush();
    const s = this.store;
    for (let kg = this.range.start; kg <= this.range.end; kg++) {
      s.setCurrentKey(DUE_KEY, kg);
      s.clearEntries(this.dueTable);
    }
    for (const [end, keys] of this.due) {
      for (const p of keys.values()) {
        s.setCurrentKey(DUE_KEY, p.keyGroup);
        const entry = [end, p.key];
        s.putEntry(this.dueTable, entry, entry);
      }
    }
  }

  initializeState(restored: boolean): void {
    if (!restored) return;
    const s = this.store;
    for (let kg = this.range.start; kg <= this.range.end; kg++) {
      s.setCurrentKey(DUE_KEY, kg);
      for (const [, value] of s.entries(this.dueTable)) {
        const [end, key] = value as [number, unknown];
        this.dueAt(end).set(storedKey(key), { key, keyGroup: kg, acc: undefined });
      }
    }
  }

  override finish(): void {
    this.flush();
  }
}

/** A reduce function may return its first argument changed: a window starts from a copy of its first slice. */
function copyOf(v: unknown): unknown {
  return typeof v === 'object' && v !== null ? structuredClone(v) : v;
}
