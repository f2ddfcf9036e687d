/**
 * Buffer debloating at a consuming task (see core/channel/debloat.ts): FIRST_PERIOD_MS after
 * it starts, then every DEBLOAT_PERIOD_MS, the loop hands it the time; it measures the ring
 * bytes consumed since the last sample (the rings' read positions are free-running byte
 * counters, so nothing is counted per frame) and the time not parked idle, and sets each live
 * input ring's soft capacity.
 */
import { BufferDebloater, DEBLOAT_PERIOD_MS, FIRST_PERIOD_MS, MIN_SAMPLE_BUSY_MS } from '../core/channel/debloat.js';
import type { InputGate } from './input-gate.js';

export class InputDebloat {
  private readonly debloater: BufferDebloater;
  /** Each ring's read position at the last period. */
  private readonly readAt: number[];
  private lastAt: number;
  private lastIdleMs: number;
  private next: number;

  constructor(
    private readonly input: InputGate,
    targetMs: number,
    capacity: number,
    /** The task's accumulated idle ms (parked with nothing to read), the wait in progress included. */
    private readonly idleMs: () => number,
    now = performance.now(),
  ) {
    this.debloater = new BufferDebloater(targetMs, capacity);
    this.readAt = input.channels.map((c) => c.position);
    this.lastAt = now;
    this.lastIdleMs = idleMs();
    this.next = now + FIRST_PERIOD_MS;
  }

  /** Called by the loop after every input frame (`now` = performance.now()). */
  tick(now: number): void {
    if (now < this.next) return;
    const idle = this.idleMs();
    const busy = now - this.lastAt - (idle - this.lastIdleMs);
    if (busy < MIN_SAMPLE_BUSY_MS) {
      // Too little work to measure (the first frames, a consumer mostly parked): go on counting.
      this.next = now + FIRST_PERIOD_MS;
      return;
    }
    this.next = now + DEBLOAT_PERIOD_MS;
    const { channels, ended } = this.input;
    let bytes = 0;
    let live = 0;
    for (let i = 0; i < channels.length; i++) {
      const pos = channels[i].position;
      bytes += (pos - this.readAt[i]) >>> 0;
      this.readAt[i] = pos;
      if (!ended[i]) live++;
    }
    this.lastAt = now;
    this.lastIdleMs = idle;
    const soft = this.debloater.sample(bytes, busy, live);
    if (soft < 0) return;
    for (let i = 0; i < channels.length; i++) if (!ended[i]) channels[i].setSoftCapacity(soft);
  }
}
