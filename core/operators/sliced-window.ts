/**
 * Event-time tumbling and sliding windows with an incremental function (reduce, or aggregate),
 * by window slicing (Flink SQL's SliceAssigner and SlicingWindowOperator): event time is cut
 * into slices of gcd(size, slide), each record updates only its own slice's accumulator, and a
 * window, when the watermark reaches its end, combines the size / slice slices it spans. A
 * sliding window thus costs a record one update instead of size / slide. Slices are combined
 * with the reduce function or the aggregate's merge; an aggregate without merge on sliding
 * windows keeps one pane per window instead (a record updates each of its windows' panes).
 *
 * The accumulators of open slices live in memory, per slice and key, and so does the index of
 * which keys have a window due at which end (the part of Flink's timers this operator needs,
 * without a timer id per key and window): the record path touches neither the state store nor
 * a namespace nor a timer. At every checkpoint barrier the slices changed since the last one
 * and the whole due index (per key group, under a reserved key) are written into keyed state,
 * so snapshots, restore and rescaling by key group carry them like any keyed state; a restore
 * reads every slice back into memory through the due index. Open windows are thus held in
 * memory on either backend (the LMDB backend gets them at each barrier).
 *
 * Semantics are the general WindowOperator's with the default EventTimeTrigger and no allowed
 * lateness: a window fires once, when the watermark reaches its last instant, if any record
 * fell into it; a record is late, and goes to the late side output, when the last window
 * holding it has already fired. windowOperator (window.ts) picks this path only then.
 */
import type { Collector } from '../contract/functions.js';
import { reservedEntryCount, storedKey, type KeyedStateStore } from '../state/keyed-store.js';
import type { TaskTime } from '../time/task-time.js';
import { keyGroupRange } from '../state/key-groups.js';
import { windowStart } from '../time/windows/window.js';
import type { OperatorContext } from './context.js';
import { userFunctionFailure } from './failures.js';
import { BaseOperator, type OperatorRuntime } from './operator.js';
import { missingTimestamp, otherWindowState, WindowEmitter, windowRuntime, type WindowSpec } from './window-output.js';
import { storedEventTimers } from '../time/timer-service.js';

const SLICES_TABLE = '__eddy/window/slices';
/** Per key group, under DUE_KEY: key → the ends of its windows due (the due index at the barrier). */
const DUE_TABLE = '__eddy/window/due';
const DUE_KEY = '__eddy/window/due';

/** How many due windows a sliced window operator left in `store` over key groups `range`. */
export function storedDueWindows(store: KeyedStateStore, range: { start: number; end: number }): number {
  return reservedEntryCount(store, DUE_TABLE, DUE_KEY, range);
}

/** One key's accumulator of one slice (also the key's entry in the due index). */
interface Slice {
  key: unknown;
  keyGroup: number;
  acc: unknown;
  /** Changed since the last barrier wrote it. */
  dirty: boolean;
  /** Keyed state holds a copy (to remove when the slice goes). */
  inState: boolean;
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
  private readonly time: TaskTime;
  private readonly range: { start: number; end: number };
  private readonly slicesTable: number;
  private readonly dueTable: number;
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
  /** Slice end → stored key → the key's accumulator of that slice. */
  private readonly slices = new Map<number, Map<unknown, Slice>>();
  /** Window end → stored key → a key with a window ending there, not fired yet. */
  private readonly due = new Map<number, Map<unknown, Slice>>();
  /** The ends in `due`, ascending (few: the windows not yet fired). */
  private dueEnds: number[] = [];
  /** The slice of the previous record: [sliceStart, sliceEnd), its map, and the end of the last window holding it. */
  private sliceStart = NaN;
  private sliceEnd = NaN;
  private lastWindowEnd = NaN;
  private sliceMap: Map<unknown, Slice> | undefined;
  /** markDue's last answer: slice end and watermark → the due map. */
  private markSlice = NaN;
  private markWatermark = NaN;
  private markMap: Map<unknown, Slice> | undefined;
  /** While a window end fires: the slice maps of the window, oldest first, and the due map of the next end. */
  private readonly windowSlices: (Map<unknown, Slice> | undefined)[] = [];
  private nextDue: Map<unknown, Slice> | undefined;
  /** Records dropped as late without a side output. */
  lateDropped = 0;

  constructor(spec: WindowSpec, rt: OperatorRuntime, next: Collector<unknown>) {
    super();
    ({ store: this.store, ctx: this.ctx, out: this.out } = windowRuntime(this, rt, next));
    const a = spec.assigner.aligned!;
    this.size = a.size;
    this.slide = a.slide;
    this.offset = a.offset;
    // Without merge (an aggregate on sliding windows) slices cannot be combined: one pane per window instead.
    this.windowPanes = spec.fn.kind === 'aggregate' && typeof spec.fn.aggregate.merge !== 'function' && a.slide !== a.size;
    this.slice = this.windowPanes ? a.slide : gcd(a.size, a.slide);
    this.time = rt.time;
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

  // ---- records: one in-memory update each ----
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
      let m = this.sliceMap;
      if (m === undefined) m = this.sliceMap = this.slicesAt(this.sliceEnd);
      this.addTo(m, this.sliceEnd, value);
      return;
    }
    // One pane per window (no merge to combine slices): the record updates each window not yet fired.
    for (let end = this.lastWindowEnd; end > ts && end - 1 > this.watermark; end -= this.slide) this.addTo(this.slicesAt(end), end, value);
  }

  private slicesAt(end: number): Map<unknown, Slice> {
    let m = this.slices.get(end);
    if (m === undefined) this.slices.set(end, (m = new Map()));
    return m;
  }

  /** Adds the record to the current key's accumulator of slice (or pane) `end`. */
  private addTo(m: Map<unknown, Slice>, end: number, value: unknown): void {
    const s = this.store;
    const key = s.currentKey;
    const id = storedKey(key);
    let p = m.get(id);
    if (p === undefined) {
      p = { key, keyGroup: s.currentKeyGroup, acc: undefined, dirty: true, inState: false };
      m.set(id, p);
      this.markDue(end, id, p);
      if (this.create !== undefined) p.acc = this.call0(this.create);
      else {
        p.acc = value; // a reduce starts from its first value
        return;
      }
    }
    try {
      p.acc = this.reduce !== undefined ? this.reduce(p.acc, value) : this.add!(value, p.acc);
    } catch (err) {
      throw userFunctionFailure(err, this.ctx);
    }
    p.dirty = true;
  }

  /** A new slice of key `id`: its first window end the watermark has not passed is due. */
  private markDue(sliceEnd: number, id: unknown, p: Slice): void {
    let due = this.markMap;
    // The same slice under the same watermark: the same due end (cached: most new slices of a key follow another key's).
    if (due === undefined || sliceEnd !== this.markSlice || this.watermark !== this.markWatermark) {
      let end = windowStart(sliceEnd - 1, this.offset + this.size, this.slide) + this.slide;
      while (end - 1 <= this.watermark) end += this.slide;
      due = this.markMap = this.dueAt(end);
      this.markSlice = sliceEnd;
      this.markWatermark = this.watermark;
    }
    if (!due.has(id)) due.set(id, p);
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
    this.sliceMap = undefined;
  }

  private dueAt(end: number): Map<unknown, Slice> {
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
    this.watermark = watermark;
    const s = this.store;
    // Firing a sliding window may make the key due at the next end, which may be due already.
    while (this.dueEnds.length > 0 && this.dueEnds[0] - 1 <= watermark) {
      const end = this.dueEnds.shift()!;
      const keys = this.due.get(end)!;
      this.due.delete(end);
      // Looked up once per window end, not per key.
      const ws = this.windowSlices;
      ws.length = 0;
      for (let sliceEnd = end - this.size + this.slice; sliceEnd <= end; sliceEnd += this.slice) ws.push(this.slices.get(sliceEnd));
      this.nextDue = undefined;
      for (const [id, p] of keys) {
        s.setCurrentKey(p.key, p.keyGroup);
        this.fire(end, id, p);
      }
    }
  }

  /** Slice `end` of key `id` is in no window still to fire. */
  private drop(end: number, id: unknown, p: Slice): void {
    const m = this.slices.get(end);
    if (m !== undefined && m.delete(id) && m.size === 0) {
      this.slices.delete(end);
      if (this.sliceEnd === end) this.sliceMap = undefined;
    }
    if (p.inState) this.store.removeEntry(this.slicesTable, end);
  }

  /** The window ending at `end` fires for the current key: combine its slices, drop those no later window needs, and make the key due at the next end if slices remain. */
  private fire(end: number, id: unknown, due: Slice): void {
    const start = end - this.size;
    if (this.windowPanes || this.slice === this.size) {
      const p = this.slices.get(end)?.get(id);
      if (p === undefined) return;
      this.drop(end, id, p);
      this.emitter.emit(due.key, { start, end }, p.acc);
      return;
    }
    // Slices from nextStart on belong to the next window too: they stay, and the key is due there.
    const nextStart = start + this.slide;
    const ws = this.windowSlices;
    let acc: unknown = undefined;
    let any = false;
    let later = false;
    for (let i = 0; i < ws.length; i++) {
      const p = ws[i]?.get(id);
      if (p === undefined) continue;
      acc = this.combine(acc, any, p.acc);
      any = true;
      const sliceEnd = start + (i + 1) * this.slice;
      if (sliceEnd - this.slice < nextStart) this.drop(sliceEnd, id, p);
      else later = true;
    }
    if (later) {
      const next = (this.nextDue ??= this.dueAt(end + this.slide));
      if (!next.has(id)) next.set(id, due);
    }
    if (any) this.emitter.emit(due.key, { start, end }, acc);
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

  // ---- checkpoints ----
  /** Before state is captured: slices changed since the last barrier go into state, and the due index replaces its stored copy. */
  snapshotState(): void {
    const s = this.store;
    const table = this.slicesTable;
    for (const [end, m] of this.slices) {
      for (const p of m.values()) {
        if (!p.dirty) continue;
        s.setCurrentKey(p.key, p.keyGroup);
        s.putEntry(table, end, p.acc);
        p.dirty = false;
        p.inState = true;
      }
    }
    for (let kg = this.range.start; kg <= this.range.end; kg++) {
      s.setCurrentKey(DUE_KEY, kg);
      s.clearEntries(this.dueTable);
    }
    // One entry per key (its due ends), keyed by the key itself: no composite key to encode.
    const byKey = new Map<unknown, { key: unknown; keyGroup: number; ends: number[] }>();
    for (const [end, keys] of this.due) {
      for (const [id, p] of keys) {
        let e = byKey.get(id);
        if (e === undefined) byKey.set(id, (e = { key: p.key, keyGroup: p.keyGroup, ends: [] }));
        e.ends.push(end);
      }
    }
    for (const e of byKey.values()) {
      s.setCurrentKey(DUE_KEY, e.keyGroup);
      s.putEntry(this.dueTable, e.key, e.ends);
    }
  }

  /**
   * After a restore: the due index, then every slice of every key in it (a key with slices is
   * always due somewhere: a new slice makes it due, and firing keeps it due while slices remain).
   */
  initializeState(restored: boolean): void {
    if (!restored) return;
    const s = this.store;
    if (storedEventTimers(s, this.range) > 0)
      throw otherWindowState(this.ctx, 'window timers of the general window operator', 'a sliced window operator');
    const keys: Slice[] = [];
    for (let kg = this.range.start; kg <= this.range.end; kg++) {
      s.setCurrentKey(DUE_KEY, kg);
      for (const [key, ends] of s.entries(this.dueTable) as [unknown, number[]][]) {
        const p: Slice = { key, keyGroup: kg, acc: undefined, dirty: false, inState: false };
        for (const end of ends) this.dueAt(end).set(storedKey(key), p);
        keys.push(p);
      }
    }
    for (const k of keys) {
      const id = storedKey(k.key);
      s.setCurrentKey(k.key, k.keyGroup);
      for (const [end, acc] of s.entries(this.slicesTable) as [number, unknown][]) {
        const m = this.slicesAt(end);
        if (!m.has(id)) m.set(id, { key: k.key, keyGroup: k.keyGroup, acc, dirty: false, inState: true });
      }
    }
  }
}

/** A reduce function may return its first argument changed: a window starts from a copy of its first slice. */
function copyOf(v: unknown): unknown {
  return typeof v === 'object' && v !== null ? structuredClone(v) : v;
}
