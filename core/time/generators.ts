/**
 * The watermark generator contract and the built-in generators (Flink's
 * BoundedOutOfOrdernessWatermarks and WatermarksWithIdleness). A generator sees every event
 * with its timestamp and is asked periodically (the auto-watermark interval) for a watermark.
 * The contract lives here, beside its implementations, so the strategy that picks one
 * (watermark-strategy.ts) imports this file and nothing imports back.
 */

/** Where a generator sends watermarks. */
export interface WatermarkOutput {
  /** Ignored unless it advances the watermark. */
  emitWatermark(watermark: number): void;
  /** This input has no data for now: downstream must not wait for it. */
  markIdle(): void;
  /** This input has data again (emitting a watermark also does this). */
  markActive(): void;
}

/** Makes watermarks from events and the passing of time (Flink's `WatermarkGenerator`). */
export interface WatermarkGenerator<T> {
  /** Every event, after its timestamp was assigned. May emit (punctuated watermarks). */
  onEvent(event: T, timestamp: number, output: WatermarkOutput): void;
  /** Every auto-watermark interval (periodic watermarks). */
  onPeriodicEmit(output: WatermarkOutput): void;
}

/** Watermark = highest timestamp seen − bound − 1: events up to `bound` ms late are on time. */
export class BoundedOutOfOrderness<T> implements WatermarkGenerator<T> {
  private maxTs = -Infinity;
  constructor(private readonly bound: number) {}
  onEvent(_event: T, timestamp: number): void {
    if (timestamp > this.maxTs) this.maxTs = timestamp;
  }
  onPeriodicEmit(output: WatermarkOutput): void {
    output.emitWatermark(this.maxTs - this.bound - 1);
  }
}

/** Emits nothing: downstream event time only advances at the end of a bounded input. */
export class NoWatermarks<T> implements WatermarkGenerator<T> {
  onEvent(): void {}
  onPeriodicEmit(): void {}
}

/**
 * Marks the output idle when no event came for `idleMs` of wall-clock time, so downstream
 * operators stop waiting for this input; the next event makes it active again.
 */
export class WithIdleness<T> implements WatermarkGenerator<T> {
  private lastEvent: number;
  private idle = false;
  constructor(
    private readonly inner: WatermarkGenerator<T>,
    private readonly idleMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.lastEvent = now();
  }
  onEvent(event: T, timestamp: number, output: WatermarkOutput): void {
    this.lastEvent = this.now();
    if (this.idle) {
      this.idle = false;
      output.markActive();
    }
    this.inner.onEvent(event, timestamp, output);
  }
  onPeriodicEmit(output: WatermarkOutput): void {
    if (this.idle) return;
    if (this.now() - this.lastEvent >= this.idleMs) {
      this.idle = true;
      output.markIdle();
      return;
    }
    this.inner.onPeriodicEmit(output);
  }
}
