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

export class TaskTime {
  /** Timestamp of the record being pushed down the chain (NO_TIMESTAMP if none). */
  timestamp = NO_TIMESTAMP;
  /** Earliest `due` over all tickers (Infinity when none is pending). */
  nextDue = Infinity;
  private chain: readonly WatermarkAware[] = [];
  private output: WatermarkOutput | undefined;
  private lastOutput = -Infinity;
  /** The last watermark that came in over the task's inputs (metrics). */
  inputWatermark = -Infinity;
  private outputIdle = false;
  private readonly tickers: TimeTicker[] = [];

  /** Wires the chain (head first) and where the task's watermarks go (its output, if any). */
  attach(chain: readonly WatermarkAware[], output: WatermarkOutput | undefined): void {
    this.chain = chain;
    this.output = output;
  }

  /** The last watermark this task sent downstream. */
  get outputWatermark(): number {
    return this.lastOutput;
  }

  /**
   * A watermark made at chain position `from` (-1: the task's inputs) passes the operators
   * after it, then leaves the task if it advanced. Operators fire timers synchronously inside
   * processWatermark, so their results precede the watermark downstream (as in Flink).
   */
  watermark(from: number, wm: number): void {
    if (from < 0) this.inputWatermark = wm;
    const chain = this.chain;
    for (let j = from + 1; j < chain.length; j++) {
      const op = chain[j];
      if (op.generatesWatermarks && wm !== Infinity) return;
      op.processWatermark?.(wm);
      if (op.holdsWatermarks) return;
    }
    if (wm > this.lastOutput || (this.outputIdle && wm >= this.lastOutput)) {
      if (wm > this.lastOutput) this.lastOutput = wm;
      this.outputIdle = false;
      this.output?.(this.lastOutput, false);
    }
  }

  /** The inputs feeding position `from` went idle: tell downstream to stop waiting for us. */
  idle(from: number): void {
    const chain = this.chain;
    for (let j = from + 1; j < chain.length; j++) if (chain[j].generatesWatermarks) return;
    if (this.outputIdle) return;
    this.outputIdle = true;
    this.output?.(this.lastOutput, true);
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
