/**
 * The task's inputs: one ring consumer per (edge, producer subtask), polled round-robin so no
 * input starves another. An input can be blocked (barrier alignment holds it back): it is
 * then simply not polled, and its data waits in its ring, which backpressures the producer;
 * nothing is copied aside.
 */
import { RING_POISONED } from '../core/channel/layout.js';
import { RingConsumer } from '../core/channel/ring.js';
import type { InputChannelSpec } from '../core/runtime/messages.js';

export class InputGate {
  readonly channels: RingConsumer[];
  /** Per channel: the edge it belongs to (its index among the vertex's inputs). */
  readonly edgeOf: number[];
  readonly ended: boolean[];
  readonly blocked: boolean[];
  private openCount: number;
  private cursor = 0;

  constructor(specs: InputChannelSpec[], edgeIndex: (edge: number) => number) {
    this.channels = specs.map((s) => new RingConsumer(s.ring));
    this.edgeOf = specs.map((s) => edgeIndex(s.edge));
    this.ended = specs.map(() => false);
    this.blocked = specs.map(() => false);
    this.openCount = specs.length;
  }

  /** True once every input delivered end-of-stream (end of data). */
  get allEnded(): boolean {
    return this.openCount === 0;
  }

  /**
   * The index of a channel whose next frame is ready (the frame is current on that consumer
   * until release), or -1 if no unblocked input has one.
   */
  poll(): number {
    const n = this.channels.length;
    for (let k = 0; k < n; k++) {
      const i = this.cursor;
      if (++this.cursor === n) this.cursor = 0;
      // A channel whose data ended is still read: barriers of the final checkpoint follow.
      if (this.blocked[i]) continue;
      if (this.channels[i].poll()) return i;
    }
    return -1;
  }

  /** True if a producer died or the job was cancelled (the ring was poisoned). */
  anyPoisoned(): boolean {
    for (let i = 0; i < this.channels.length; i++) if (!this.ended[i] && this.channels[i].state === RING_POISONED) return true;
    return false;
  }

  /** Marks the channel ended after its end-of-stream frame. */
  markEnded(i: number): void {
    if (this.ended[i]) return;
    this.ended[i] = true;
    this.openCount--;
  }
}
