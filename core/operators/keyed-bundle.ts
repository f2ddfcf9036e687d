/**
 * Mini-batch on a keyed stream (Flink's KeyedMapBundleOperator with a count trigger and the
 * mini-batch interval): records are folded per key into a bundle value, and the bundle is
 * finished — each key's state read and written once, its net change emitted — when it holds
 * `size` records, when its first record has waited `latencyMs`, at a checkpoint barrier before
 * the state is captured, and at the end of input.
 *
 * Flushing at the barrier keeps checkpoints exact without storing the bundle: the state
 * captured includes every record before the barrier, and the records the flush emits go out
 * before the barrier (aligned) or with the output the barrier overtakes (unaligned). A
 * watermark is held while the bundle holds records and sent on after the flush, so it never
 * passes records it precedes.
 */
import type { Collector, RuntimeContext } from '../contract/functions.js';
import { EddyError } from '../failure.js';
import type { KeyedStateStore } from '../state/keyed-store.js';
import type { TaskTime, TimeTicker } from '../time/task-time.js';
import { OperatorContext } from './context.js';
import { userFunctionFailure } from './failures.js';
import { BaseOperator, type OperatorFactory, type OperatorRuntime } from './operator.js';

/** When a bundle is finished besides barriers and the end of input (Flink's table.exec.mini-batch.*). */
export interface BundleTrigger {
  /** Finish the bundle once it holds this many records (`table.exec.mini-batch.size`). */
  size: number;
  /** Finish the bundle once its first record has waited this long, in ms (`…allow-latency`). */
  latencyMs: number;
}

/** The per-key logic of a bundle (Flink's MapBundleFunction). */
export interface BundleFunction<I, B, O> {
  /** Folds `input` into the key's bundle value (`undefined` for the key's first record in this bundle); returns the new value. */
  addInput(value: B | undefined, input: I): B;
  /** At the bundle's end, once per key it holds, that key current: apply `value` to the key's state and emit the net change. */
  finishKey(value: B, ctx: RuntimeContext, out: Collector<O>): void;
}

/** One key's place in the bundle: the key as the state backend takes it, and the folded value. */
interface Entry {
  key: unknown;
  keyGroup: number;
  value: unknown;
  /** Timestamp of the key's last record: the key's output carries it, as it would record by record. */
  timestamp: number;
}

/**
 * The bundle's entries by key, without a string per record: a scalar key (string, number, …)
 * is its own Map key; a composite key (an array of scalars: a SQL key of several columns) is
 * found through one nested Map per component, under its length. Map keys compare by
 * SameValueZero, as the state backend's stored key (JSON) does but for NaN, which JSON folds
 * into null: such keys get two entries, and each is applied in turn to the one state entry,
 * which is still exact. An array holding an object is keyed by its JSON.
 */
class BundleIndex {
  private readonly scalars = new Map<unknown, Entry>();
  private readonly composites = new Map<number, Map<unknown, unknown>>();
  /** The entries in the order their keys first came (the order they are applied in). */
  readonly entries: Entry[] = [];

  /** The entry of `key`, made by `make` if the bundle has none. */
  entryOf(key: unknown, make: () => Entry): Entry {
    if (!Array.isArray(key)) return this.scalarEntry(typeof key === 'object' && key !== null ? `\u0000${JSON.stringify(key)}` : key, make);
    const last = key.length - 1;
    let level = this.composites.get(key.length);
    if (level === undefined) this.composites.set(key.length, (level = new Map()));
    for (let i = 0; i < last; i++) {
      const c: unknown = key[i];
      if (typeof c === 'object' && c !== null) return this.scalarEntry(`\u0000${JSON.stringify(key)}`, make);
      let next = level.get(c) as Map<unknown, unknown> | undefined;
      if (next === undefined) level.set(c, (next = new Map()));
      level = next;
    }
    const c: unknown = key[last];
    if (typeof c === 'object' && c !== null) return this.scalarEntry(`\u0000${JSON.stringify(key)}`, make);
    let e = level.get(c) as Entry | undefined;
    if (e === undefined) {
      level.set(c, (e = make()));
      this.entries.push(e);
    }
    return e;
  }

  private scalarEntry(id: unknown, make: () => Entry): Entry {
    let e = this.scalars.get(id);
    if (e === undefined) {
      this.scalars.set(id, (e = make()));
      this.entries.push(e);
    }
    return e;
  }

  clear(): void {
    this.scalars.clear();
    this.composites.clear();
    this.entries.length = 0;
  }
}

class KeyedBundleOperator extends BaseOperator<unknown> implements TimeTicker {
  private readonly bundle = new BundleIndex();
  private readonly newEntry = (): Entry => ({
    key: this.store.currentKey,
    keyGroup: this.store.currentKeyGroup,
    value: undefined,
    timestamp: NaN,
  });
  private count = 0;
  /** When the bundle's first record has waited latencyMs (Infinity while the bundle is empty). */
  due = Infinity;
  /** The newest watermark held back behind the bundle (-Infinity: none). */
  private heldWatermark = -Infinity;
  readonly holdsWatermarks = true;
  private readonly ctx: OperatorContext;
  private readonly store: KeyedStateStore;
  private readonly time: TaskTime;
  private readonly out: Collector<unknown>;

  constructor(
    private readonly fn: BundleFunction<unknown, unknown, unknown>,
    private readonly trigger: BundleTrigger,
    private readonly rt: OperatorRuntime,
    next: Collector<unknown>,
  ) {
    super();
    if (rt.keyedStore === undefined)
      throw new EddyError('JOB_INVALID', `bundle operator '${rt.displayName}' needs a keyed input (use it after keyBy)`);
    this.store = rt.keyedStore;
    this.ctx = new OperatorContext(rt);
    this.time = rt.time;
    this.out = { collect: (v) => (this.recordsOut++, next.collect(v)) };
  }

  override open(): void {
    this.time.addTicker(this);
  }

  collect(value: unknown): void {
    this.recordsIn++;
    const e = this.bundle.entryOf(this.store.currentKey, this.newEntry);
    try {
      e.value = this.fn.addInput(e.value, value);
    } catch (err) {
      throw userFunctionFailure(err, this.ctx);
    }
    e.timestamp = this.time.timestamp;
    if (this.count++ === 0) {
      this.due = Date.now() + this.trigger.latencyMs;
      this.time.reschedule();
    }
    if (this.count >= this.trigger.size) this.finishBundle();
  }

  /** The latency trigger: the run loop calls it once `due` has passed. */
  onTick(): number {
    this.finishBundle();
    return Infinity;
  }

  /** Applies the bundle key by key, then lets a held watermark go on. */
  private finishBundle(): void {
    if (this.count > 0) {
      const time = this.time;
      const saved = time.timestamp;
      const entries = this.bundle.entries;
      for (let i = 0; i < entries.length; i++) {
        const e = entries[i];
        this.store.setCurrentKey(e.key, e.keyGroup);
        time.timestamp = e.timestamp;
        try {
          this.fn.finishKey(e.value, this.ctx, this.out);
        } catch (err) {
          throw userFunctionFailure(err, this.ctx);
        }
      }
      time.timestamp = saved;
      this.bundle.clear();
      this.count = 0;
      // Told at once: a wake-up left due in the past makes the loop park for 0 ms again and again.
      this.due = Infinity;
      time.reschedule();
    }
    if (this.heldWatermark !== -Infinity) {
      const wm = this.heldWatermark;
      this.heldWatermark = -Infinity;
      this.time.watermark(this.rt.chainIndex, wm);
    }
  }

  processWatermark(wm: number): void {
    if (wm > this.heldWatermark) this.heldWatermark = wm;
    // The end of input (+Infinity) finishes the bundle; any other watermark waits for it.
    if (this.count === 0 || wm === Infinity) this.finishBundle();
  }

  snapshotState(): void {
    this.finishBundle();
  }

  override finish(): void {
    this.finishBundle();
  }

  override close(): void {
    this.bundle.clear();
    this.count = 0;
  }
}

/** The operator factory of a keyed mini-batch (use on a keyed stream: `keyed.addOperator('bundle', …, true)`). */
export function keyedBundleOperator<I, B, O>(fn: BundleFunction<I, B, O>, trigger: BundleTrigger): OperatorFactory {
  checkBundleTrigger(trigger);
  return (rt, next) => new KeyedBundleOperator(fn as BundleFunction<unknown, unknown, unknown>, trigger, rt, next);
}

/** A bundle that keeps each key's records in arrival order and hands them to `finishKey` as a list (Flink's MiniBatchGroupAggFunction buffer). */
export function listBundle<I, O>(finishKey: (inputs: I[], ctx: RuntimeContext, out: Collector<O>) => void): BundleFunction<I, I[], O> {
  return {
    addInput(list, input) {
      if (list === undefined) return [input];
      list.push(input);
      return list;
    },
    finishKey,
  };
}

/** A trigger's size and latency must be positive: JOB_INVALID naming the one that is not. */
export function checkBundleTrigger(trigger: BundleTrigger): void {
  if (!(Number.isSafeInteger(trigger?.size) && trigger.size > 0))
    throw new EddyError('JOB_INVALID', `mini-batch size must be a positive integer number of records, got ${trigger?.size}`);
  if (!(Number.isFinite(trigger.latencyMs) && trigger.latencyMs > 0))
    throw new EddyError('JOB_INVALID', `mini-batch latency must be a positive number of milliseconds, got ${trigger.latencyMs}`);
}
