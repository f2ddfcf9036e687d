/**
 * The task's inputs: one ring consumer per (edge, producer subtask), polled round-robin so no
 * input starves another. An input can be blocked (barrier alignment holds it back): it is
 * then simply not polled, and its data waits in its ring, which backpressures the producer;
 * nothing is copied aside.
 *
 * After a restore of an unaligned checkpoint the gate serves the restored in-flight frames
 * (a ReplayChannel per channel that has some) before it reads any ring: restored input is
 * never overtaken by new input, on its own channel or another (after a rescale the stored
 * records of a key may arrive on one channel and the key's new records on another).
 *
 * Priority events (barriers overtaking the data in a ring) ring the task gate's priority
 * doorbell; `priorityChanged` compares it with the last value seen (one atomic load, done
 * once per input frame and every 64 records of a record frame), and only then are the rings'
 * mailboxes read.
 */
import { GATE_PRIO_SEQ, RING_POISONED } from '../core/channel/layout.js';
import { RingConsumer, type OwnedFrame, type PriorityEvent } from '../core/channel/ring.js';
import type { InputChannelSpec } from '../core/runtime/messages.js';
import { ReplayChannel, type FrameSource } from './in-flight.js';

export class InputGate {
  readonly channels: RingConsumer[];
  /** What each channel is read through: its ring, or while restored frames remain, their replay. */
  readonly sources: FrameSource[];
  /** Per channel: the replay of restored frames, until it is used up. */
  readonly replays: (ReplayChannel | undefined)[];
  /** Per channel: the edge it belongs to (its index among the vertex's inputs). */
  readonly edgeOf: number[];
  readonly ended: boolean[];
  readonly blocked: boolean[];
  private openCount: number;
  /** Channels whose replay is not used up: while any is, no ring is read. */
  private replaying = 0;
  private cursor = 0;
  private readonly gateCells: Int32Array;
  private prioritySeen = 0;
  /** Per channel: the mailbox sequence last handled. */
  private readonly mailboxSeen: Int32Array;

  constructor(specs: InputChannelSpec[], edgeIndex: (edge: number) => number, gate: SharedArrayBuffer) {
    this.channels = specs.map((s) => new RingConsumer(s.ring, s.producerGate));
    this.sources = [...this.channels];
    this.replays = specs.map(() => undefined);
    this.edgeOf = specs.map((s) => edgeIndex(s.edge));
    this.ended = specs.map(() => false);
    this.blocked = specs.map(() => false);
    this.openCount = specs.length;
    this.gateCells = new Int32Array(gate);
    this.mailboxSeen = new Int32Array(specs.length);
    // Every attempt gets fresh rings (deployment.ts): any mailbox entry is news, even one
    // published before this task started (a fast source may overtake before it is up).
  }

  /** True once every input delivered end-of-stream (end of data). */
  get allEnded(): boolean {
    return this.openCount === 0;
  }

  /** Restored in-flight frames of channel i, served before anything from its ring. */
  replay(i: number, frames: OwnedFrame[]): void {
    if (frames.length === 0) return;
    if (this.replays[i] !== undefined) throw new RangeError(`input channel ${i} already has restored frames`);
    const r = new ReplayChannel(frames);
    this.replays[i] = r;
    this.sources[i] = r;
    this.replaying++;
  }

  /**
   * The index of a channel whose next frame is ready (the frame is current on `sources[i]`
   * until release), or -1 if no unblocked input has one.
   */
  poll(): number {
    if (this.replaying > 0 && this.pollReplays()) return this.cursor;
    const n = this.sources.length;
    for (let k = 0; k < n; k++) {
      const i = this.cursor;
      if (++this.cursor === n) this.cursor = 0;
      // A channel whose data ended is still read: barriers of the final checkpoint follow.
      if (this.blocked[i]) continue;
      if (this.sources[i].poll()) return i;
    }
    return -1;
  }

  /**
   * True with `cursor` at a channel whose replay has a frame; false once every replay is used
   * up (each channel reads its ring from then on). No channel with a replay left is blocked:
   * a barrier that blocks one comes from its ring, after its replay.
   */
  private pollReplays(): boolean {
    for (let i = 0; i < this.replays.length; i++) {
      const r = this.replays[i];
      if (r === undefined) continue;
      if (r.poll()) {
        this.cursor = i;
        return true;
      }
      this.replays[i] = undefined;
      this.sources[i] = this.channels[i];
      this.replaying--;
    }
    return false;
  }

  /** True if a priority event was published into any input ring since the last call. */
  priorityChanged(): boolean {
    const seq = Atomics.load(this.gateCells, GATE_PRIO_SEQ);
    if (seq === this.prioritySeen) return false;
    this.prioritySeen = seq;
    return true;
  }

  /** Like priorityChanged, without taking the change (a drain asks whether to return). */
  priorityPending(): boolean {
    return Atomics.load(this.gateCells, GATE_PRIO_SEQ) !== this.prioritySeen;
  }

  /** Reads channel i's mailbox into `out`; true if it holds an event not handled before. */
  takePriority(i: number, out: PriorityEvent): boolean {
    const seq = this.channels[i].readPriority(out);
    if (seq === this.mailboxSeen[i]) return false;
    this.mailboxSeen[i] = seq;
    return true;
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
