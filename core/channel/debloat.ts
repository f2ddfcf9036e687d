/**
 * Buffer debloating (after Flink's FLIP-183 BufferDebloater): keep in front of a consumer only
 * about `targetMs` of its work, instead of whatever its rings hold. Under backpressure the rings
 * are full, and an aligned barrier waits behind all of it; a ring sized to the consumer's
 * throughput keeps that wait near the target whatever the ring's real capacity.
 *
 * The consumer measures its throughput as Flink does, as if it were always busy: ring bytes
 * consumed per ms not parked idle (time spent waiting on its own output counts as busy, since
 * the data in front of it drains no faster than that). The throughput is smoothed (an
 * exponential moving average over about DEBLOAT_SAMPLES periods), and each ring's soft
 * capacity is throughput × target / live input channels, clamped to [MIN_SOFT_CAPACITY,
 * capacity]. The producer treats the ring as full beyond it and sends batches that fit it
 * (see RING_SOFT_CAPACITY in layout.ts and Channel.batchLimit in workers/output.ts).
 */

/** How often a consumer measures its throughput and sets new soft capacities (ms). */
export const DEBLOAT_PERIOD_MS = 100;
/** Periods the moving average spans (its weight for the newest sample is 2 / (n + 1)). */
export const DEBLOAT_SAMPLES = 5;
/**
 * The smallest soft capacity: a frame header and a few records still fit, so a consumer that
 * measured next to nothing (it just started, it was blocked) is never starved to a trickle.
 */
export const MIN_SOFT_CAPACITY = 1024;
/** A period with less busy time than this says nothing about throughput: it is skipped. */
const MIN_BUSY_MS = 1;

export class BufferDebloater {
  /** Smoothed throughput in bytes per busy ms; -1 before the first sample. */
  private throughput = -1;
  private readonly weight = 2 / (DEBLOAT_SAMPLES + 1);

  constructor(
    private readonly targetMs: number,
    /** The rings' real capacity: the soft one never exceeds it. */
    private readonly capacity: number,
  ) {}

  /** The smoothed throughput (bytes per busy ms), -1 before the first usable sample. */
  get bytesPerMs(): number {
    return this.throughput;
  }

  /**
   * One period: `bytes` consumed over all input rings in `busyMs` of non-idle time. Returns the
   * soft capacity for each of `channels` live input rings, or -1 when there is nothing to set
   * yet (no usable sample so far, or no live channel).
   */
  sample(bytes: number, busyMs: number, channels: number): number {
    if (busyMs >= MIN_BUSY_MS) {
      const x = bytes / busyMs;
      this.throughput = this.throughput < 0 ? x : this.throughput + this.weight * (x - this.throughput);
    }
    if (this.throughput < 0 || channels <= 0) return -1;
    const soft = Math.ceil((this.throughput * this.targetMs) / channels);
    return soft < MIN_SOFT_CAPACITY ? MIN_SOFT_CAPACITY : soft > this.capacity ? this.capacity : soft;
  }
}
