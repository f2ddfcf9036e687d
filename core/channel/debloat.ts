/**
 * Buffer debloating (after Flink's FLIP-183 BufferDebloater): keep in front of a consumer only
 * about `targetMs` of its work, instead of whatever its rings hold. Under backpressure the rings
 * are full, and an aligned barrier waits behind all of it; a ring sized to the consumer's
 * throughput keeps that wait near the target whatever the ring's real capacity.
 *
 * The consumer measures its throughput as Flink does, as if it were always busy: ring bytes
 * consumed per ms not parked idle (time spent waiting on its own output counts as busy, since
 * the data in front of it drains no faster than that). Each ring's soft capacity is
 * throughput × target / live input channels, clamped to [MIN_SOFT_CAPACITY, capacity]. The
 * producer treats the ring as full beyond it and sends batches that fit it (see
 * RING_SOFT_CAPACITY in layout.ts and Channel.batchLimit in workers/output.ts).
 *
 * Unlike Flink (which starts at the full buffer size and smooths both ways), the estimate errs
 * on the small side, because bytes already in a ring cannot be taken back: an aligned barrier
 * waits behind all of them, however far the soft capacity has fallen since they were written.
 *   - A ring starts at STARTING_SOFT_CAPACITY (set when it is created, before either side
 *     runs), not at its full size: a job's first checkpoint otherwise finds every ring filled
 *     in the first period, at the speed of a consumer still warming up (1 MiB was 1.3 s of the
 *     backpressure bench's sink).
 *   - The first sample is taken after FIRST_PERIOD_MS, well before a first checkpoint.
 *   - A slower sample is taken at once; only a faster one is smoothed (an exponential moving
 *     average over about DEBLOAT_SAMPLES periods). Erring small costs a little throughput for
 *     a few periods; erring large costs every barrier until the ring has drained.
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
/**
 * The soft capacity of a new ring, before its consumer measured anything: a few ms of work for
 * a consumer of a few MB/s, so the rings hold little in front of the first barriers; the first
 * sample (FIRST_PERIOD_MS later) sets the real one. Every attempt starts here again (rings are
 * new after a restart), as does a restored job.
 */
export const STARTING_SOFT_CAPACITY = 4096;
/** The first period is short: the first checkpoint should find a measured soft capacity. */
export const FIRST_PERIOD_MS = 20;

/**
 * The soft capacity a ring is created with (RING_SOFT_CAPACITY): STARTING_SOFT_CAPACITY when
 * debloating is on (`targetMs` set) and the ring is larger than that, 0 (no limit) otherwise.
 */
export function startingSoftCapacity(targetMs: number | undefined, capacity: number): number {
  return targetMs !== undefined && capacity > STARTING_SOFT_CAPACITY ? STARTING_SOFT_CAPACITY : 0;
}

/**
 * A period with less busy time than this says too little about throughput (one frame, a
 * consumer parked nearly all the time): it is not a sample, and the next period adds to it.
 */
export const MIN_SAMPLE_BUSY_MS = 10;

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
    if (busyMs >= MIN_SAMPLE_BUSY_MS) {
      const x = bytes / busyMs;
      // Slower at once, faster smoothed (see the top of this file).
      this.throughput = this.throughput < 0 || x < this.throughput ? x : this.throughput + this.weight * (x - this.throughput);
    }
    if (this.throughput < 0 || channels <= 0) return -1;
    const soft = Math.ceil((this.throughput * this.targetMs) / channels);
    return soft < MIN_SOFT_CAPACITY ? MIN_SOFT_CAPACITY : soft > this.capacity ? this.capacity : soft;
  }
}
