/**
 * The watermark of a task with several input channels (Flink's StatusWatermarkValve): the
 * minimum over the channels that are neither idle nor ended. It only ever advances. When every
 * open channel is idle the task is idle too, and says so downstream.
 */
/** What a valve knows, for an unaligned checkpoint (see channel-state.ts). */
export interface ValveState {
  /** Last watermark per channel. */
  wm: number[];
  idle: number[];
  ended: number[];
  /** The combined watermark last returned. */
  last: number;
}

export class WatermarkValve {
  private readonly wm: Float64Array;
  private readonly idle: Uint8Array;
  private readonly ended: Uint8Array;
  private last = -Infinity;
  private allIdle = false;

  constructor(channels: number) {
    this.wm = new Float64Array(channels).fill(-Infinity);
    this.idle = new Uint8Array(channels);
    this.ended = new Uint8Array(channels);
  }

  /** The combined watermark last returned. */
  get current(): number {
    return this.last;
  }

  snapshot(): ValveState {
    return { wm: [...this.wm], idle: [...this.idle], ended: [...this.ended], last: this.last };
  }

  /**
   * Back to a snapshot's state (same channel count), so records replayed after a restore
   * meet the watermark they met before: a late record stays late, a fired window stays shut.
   */
  restore(s: ValveState): void {
    if (s.wm.length !== this.wm.length)
      throw new RangeError(`watermark valve: snapshot of ${s.wm.length} channels, this task has ${this.wm.length}`);
    this.wm.set(s.wm);
    this.idle.set(s.idle);
    this.ended.set(s.ended);
    this.last = s.last;
  }

  /**
   * A watermark frame arrived on channel i. Returns what the task must do: a new combined
   * watermark (a number greater than before), 'idle' when all open channels are now idle,
   * or undefined for nothing.
   */
  onWatermark(i: number, wm: number, idle: boolean): number | 'idle' | undefined {
    if (wm > this.wm[i]) this.wm[i] = wm;
    this.idle[i] = idle ? 1 : 0;
    return this.combine();
  }

  /** Channel i delivered end-of-stream: it no longer holds the minimum back. */
  onEnded(i: number): number | 'idle' | undefined {
    this.ended[i] = 1;
    return this.combine();
  }

  private combine(): number | 'idle' | undefined {
    let min = Infinity;
    let open = 0;
    let active = 0;
    for (let i = 0; i < this.wm.length; i++) {
      if (this.ended[i]) continue;
      open++;
      if (this.idle[i]) continue;
      active++;
      if (this.wm[i] < min) min = this.wm[i];
    }
    if (open > 0 && active === 0) {
      if (this.allIdle) return undefined;
      this.allIdle = true;
      return 'idle';
    }
    const wasIdle = this.allIdle;
    this.allIdle = false;
    // All ended: end of input, handled by the run loop with +Infinity.
    if (open === 0) return undefined;
    if (min > this.last) {
      this.last = min;
      return min;
    }
    // Back from idle without advancing: downstream must learn that we are active again.
    return wasIdle ? this.last : undefined;
  }
}

/**
 * The valve of a task whose input channels changed since the snapshot (a rescale): every one
 * of its `channels` starts at the lowest combined watermark among the `old` valves of the
 * subtasks whose state it continues (Flink restores watermarks conservatively too). Nothing
 * fires early and no timer that fired before fires again; a record that was late there may be
 * on time here. Undefined (start at −∞) when any old valve is unknown or none had a watermark.
 */
export function rescaledValve(old: (ValveState | undefined)[], channels: number): ValveState | undefined {
  let wm = Infinity;
  for (const v of old) {
    if (v === undefined) return undefined;
    if (v.last < wm) wm = v.last;
  }
  if (!(wm > -Infinity) || wm === Infinity) return undefined;
  return {
    wm: new Array<number>(channels).fill(wm),
    idle: new Array<number>(channels).fill(0),
    ended: new Array<number>(channels).fill(0),
    last: wm,
  };
}
