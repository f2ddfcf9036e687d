/**
 * Time inside one task: the current record's timestamp, watermarks travelling down the
 * operator chain to the task output, and the wake-ups (periodic watermark emission,
 * processing-time timers) the run loop must serve between batches.
 *
 * The chain is one nest of synchronous calls, so the timestamp of the record being pushed is
 * a single mutable field here rather than a wrapper object per record: whoever starts a
 * record down the chain (input gate, timestamp assigner, a firing timer) sets it first, and
 * the task output reads it when the stream carries event time. A stream without event time
 * never reads or writes it.
 */

/** The timestamp of a record that has none (no assigner upstream). */
export const NO_TIMESTAMP = NaN;

/** What the chain's operators may do with watermarks (all optional). */
export interface WatermarkAware {
  /** The operator's input watermark advanced: fire what is due, before it goes further down. */
  processWatermark?(watermark: number): void;
  /**
   * True for a timestamp assigner: it makes its own watermarks, so upstream ones stop there
   * (except the final +Infinity of an ended input, which every operator must see).
   */
  readonly generatesWatermarks?: boolean;
  /**
   * True for an operator that sends watermarks on itself, later, behind the records that
   * precede them (async I/O, whose results arrive after the watermark does): a watermark
   * stops there once it has seen it, and goes on through `watermark(its position, wm)`.
   */
  readonly holdsWatermarks?: boolean;
}

/** Something woken by the run loop at a wall-clock time (Date.now() milliseconds). */
export interface TimeTicker {
  /** When to be woken next; Infinity for never. */
  due: number;
  /** Called once `due` has passed; returns the next due time. */
  onTick(now: number): number;
}

export type WatermarkOutput = (watermark: number, idle: boolean) => void;

/** Where a chain's watermarks go: its tree, and the task outputs of the operators that have some. */
export interface ChainShape {
  /** The chain's operators in topological order (head first). */
  readonly operators: readonly WatermarkAware[];
  /** Per operator: the position it is chained to (-1: the task's inputs, or its source). */
  readonly parents: readonly number[];
  /**
   * Per position + 1 (the source or inputs first): the task output of the operator there, or
   * undefined when it has none; a watermark that passes it goes out there.
   */
  readonly outputs: readonly (WatermarkOutput | undefined)[];
}

export class TaskTime {
  /** Timestamp of the record being pushed down the chain (NO_TIMESTAMP if none). */
  timestamp = NO_TIMESTAMP;
  /** Earliest `due` over all tickers (Infinity when none is pending). */
  nextDue = Infinity;
  private chain: readonly WatermarkAware[] = [];
  private parents: readonly number[] = [];
  private outputs: readonly (WatermarkOutput | undefined)[] = [];
  /**
   * Per position + 1: whether the watermark being passed down got past the operator there.
   * Scratch for watermark() and idle(): a nested call (an async operator releasing a held
   * watermark inside processWatermark) writes only positions after its own, which the outer
   * call has not reached yet and rewrites before it reads them.
   */
  private passed = new Uint8Array(1);
  /**
   * Per position + 1 of an end of the chain (an operator with a task output, or a leaf): the
   * last watermark sent on from there, and whether an idle status was; NaN elsewhere.
   */
  private lastOut = new Float64Array([-Infinity]);
  private idleOut = new Uint8Array(1);
  /** The last watermark that came in over the task's inputs (metrics). */
  inputWatermark = -Infinity;
  private readonly tickers: TimeTicker[] = [];

  /** Wires the chain and where the task's watermarks go (see ChainShape). */
  attach(shape: ChainShape): void {
    const n = shape.operators.length;
    this.chain = shape.operators;
    this.parents = shape.parents;
    this.outputs = shape.outputs;
    this.passed = new Uint8Array(n + 1);
    this.lastOut = new Float64Array(n + 1).fill(NaN);
    this.idleOut = new Uint8Array(n + 1);
    for (let k = 0; k <= n; k++) {
      const leaf = k > 0 && !shape.parents.includes(k - 1);
      if (shape.outputs[k] !== undefined || leaf || n === 0) this.lastOut[k] = -Infinity;
    }
  }

  /** The lowest watermark the chain's ends last sent on (what downstream has been told). */
  get outputWatermark(): number {
    let low = Infinity;
    for (const w of this.lastOut) if (w < low) low = w;
    return low;
  }

  /**
   * A watermark made at chain position `from` (-1: the task's inputs) passes every operator
   * chained below it, and leaves the task wherever it advanced an end. Operators fire timers
   * synchronously inside processWatermark, so their results precede the watermark downstream
   * (as in Flink). A timestamp assigner stops it on its branch, an async operator holds it.
   */
  watermark(from: number, wm: number): void {
    if (from < 0) this.inputWatermark = wm;
    const chain = this.chain;
    const passed = this.passed;
    passed[from + 1] = 1;
    this.send(from + 1, wm);
    for (let j = from + 1; j < chain.length; j++) {
      const p = this.parents[j];
      passed[j + 1] = 0;
      if (p < from || passed[p + 1] === 0) continue;
      const op = chain[j];
      if (op.generatesWatermarks && wm !== Infinity) continue;
      op.processWatermark?.(wm);
      // A holding operator may have sent it on already, by a nested call from here.
      passed[j + 1] = op.holdsWatermarks ? 0 : 1;
      if (passed[j + 1] === 0) continue;
      this.send(j + 1, wm);
    }
  }

  /** Sends `wm` on from end `k` (a position + 1) if it advanced there, or ends its idleness. */
  private send(k: number, wm: number): void {
    const last = this.lastOut[k];
    if (last !== last) return; // not an end
    if (wm > last || (this.idleOut[k] === 1 && wm >= last)) {
      if (wm > last) this.lastOut[k] = wm;
      this.idleOut[k] = 0;
      this.outputs[k]?.(this.lastOut[k], false);
    }
  }

  /** The inputs feeding position `from` went idle: tell downstream to stop waiting for us. */
  idle(from: number): void {
    const chain = this.chain;
    const passed = this.passed;
    passed[from + 1] = 1;
    this.sendIdle(from + 1);
    for (let j = from + 1; j < chain.length; j++) {
      const p = this.parents[j];
      passed[j + 1] = p >= from && passed[p + 1] === 1 && !chain[j].generatesWatermarks ? 1 : 0;
      if (passed[j + 1] === 1) this.sendIdle(j + 1);
    }
  }

  private sendIdle(k: number): void {
    if (this.lastOut[k] !== this.lastOut[k] || this.idleOut[k] === 1) return;
    this.idleOut[k] = 1;
    this.outputs[k]?.(this.lastOut[k], true);
  }

  addTicker(t: TimeTicker): void {
    this.tickers.push(t);
    this.reschedule();
  }

  /** Recomputes nextDue after a ticker changed its `due`. */
  reschedule(): void {
    let next = Infinity;
    for (const t of this.tickers) if (t.due < next) next = t.due;
    this.nextDue = next;
  }

  /** Wakes every ticker that is due. Called by the run loop once nextDue has passed. */
  tick(now: number): void {
    for (const t of this.tickers) if (t.due <= now) t.due = t.onTick(now);
    this.reschedule();
  }
}
