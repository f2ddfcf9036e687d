/**
 * The in-flight data of one unaligned checkpoint at one task, and the replay of it after a
 * restore.
 *
 * Capture (after Flink's ChannelStatePersister). The task snapshots at the first barrier it
 * sees; from then on, per input channel, until that channel's barrier is located:
 *   - every data frame the task consumes on it is recorded (`record`), since it arrived
 *     before the barrier and was not in the snapshot;
 *   - when the barrier is located (`locate`, with the producer's cut), what is left of a
 *     restored replay and the ring bytes from the read position up to the cut are copied
 *     without consuming them. The task processes those frames afterwards as usual; they are
 *     stored only so that a restore replays them.
 * A snapshot taken part-way through delivering a record frame (see record-batch.ts) starts its
 * channel's input state with that frame and the index of its first record not yet delivered.
 * So each channel's input state is: rest of the frame being delivered ++ recorded ++ replay
 * left ++ ring [readPos, cut). With the producer's output state (what it had not yet written
 * to the ring at its cut, captured by TaskOutput.overtakeAll) that is exactly the stream
 * between this task's snapshot and the barrier, each byte once.
 */
import { freshBytes, type ByteAlloc, type OwnedFrame, type RingConsumer } from '../core/channel/ring.js';
import type { ChannelFrames, StoredFrame, TaskChannelState } from '../core/checkpoint/channel-state.js';
import type { ValveState } from '../core/time/watermark-valve.js';
import type { RecordBatch } from './record-batch.js';
import { wallNow } from '../core/channel/time-account.js';

/** What the run loop reads a frame through: a ring, or the replay of restored frames before it. */
export interface FrameSource {
  frameType: number;
  frameFlags: number;
  poll(): boolean;
  payload(): Uint8Array;
  number(i: number): number;
  release(): void;
  copyCurrent(alloc?: ByteAlloc): OwnedFrame;
}

/** Serves restored input frames of one channel, in order, before its ring (see InputGate). */
export class ReplayChannel implements FrameSource {
  frameType = -1;
  frameFlags = 0;
  private next = 0;
  private current: OwnedFrame | undefined;
  private f64: Float64Array | undefined;

  constructor(private readonly frames: OwnedFrame[]) {}

  poll(): boolean {
    if (this.current !== undefined) return true;
    if (this.next >= this.frames.length) return false;
    const f = (this.current = this.frames[this.next++]);
    this.frameType = f.type;
    this.frameFlags = f.flags;
    this.f64 = undefined;
    return true;
  }

  payload(): Uint8Array {
    return this.current!.payload;
  }

  number(i: number): number {
    const p = this.current!.payload;
    // Payloads are copies, so their offset may not be 8-aligned: read through a DataView-free copy once.
    this.f64 ??= new Float64Array(p.buffer.slice(p.byteOffset, p.byteOffset + p.byteLength));
    return this.f64[i];
  }

  release(): void {
    this.current = undefined;
    this.frameType = -1;
  }

  copyCurrent(alloc: ByteAlloc = freshBytes): OwnedFrame {
    return copyOf(this.current!, alloc);
  }

  /** Copies of the frames not yet consumed, the current one included (each payload a buffer of its own). */
  remaining(out: OwnedFrame[], alloc: ByteAlloc = freshBytes): void {
    if (this.current !== undefined) out.push(this.copyCurrent(alloc));
    for (let k = this.next; k < this.frames.length; k++) out.push(copyOf(this.frames[k], alloc));
  }
}

/**
 * A copy all its own: the capture's input payloads go to the writer thread. Not
 * payload.slice(): restored payloads are Buffers (msgpackr's bins), whose slice is a view of
 * the restored file, so the encoder had to copy it again.
 */
function copyOf(f: OwnedFrame, alloc: ByteAlloc): OwnedFrame {
  const payload = alloc(f.payload.length);
  payload.set(f.payload);
  return { type: f.type, flags: f.flags, payload };
}

/** The capture of a checkpoint that was aborted here (and declined already). */
export class InFlightAborted extends Error {}

export interface InputChannelId {
  edge: number;
  producerSubtask: number;
}

export class InFlightCapture {
  /** 1 while channel i's barrier is not located: data frames consumed on it are recorded. */
  readonly recording: Uint8Array;
  private readonly inputs: StoredFrame[][];
  private outputs: ChannelFrames[] = [];
  /** The input watermark valve at the snapshot, restored before any replayed frame. */
  valve: ValveState | undefined;
  private owed: number;
  private settle!: { resolve(): void; reject(err: Error): void };
  /** Resolves once every input channel's barrier is located (rejects on abort). */
  readonly located: Promise<void>;
  /** When the last channel's barrier was located (timeOrigin + now): the write resumes on a later turn. */
  locatedAt = 0;

  constructor(
    readonly id: number,
    private readonly ids: InputChannelId[],
    /** The record frame the task was delivering at the snapshot, if it was left part-way. */
    delivering?: RecordBatch,
    /** Where the copies of input bytes go (the task's InFlightArena, see in-flight-arena.ts). */
    private readonly alloc: ByteAlloc = freshBytes,
  ) {
    this.recording = new Uint8Array(ids.length).fill(1);
    this.inputs = ids.map(() => []);
    const rest = delivering?.remainder(alloc);
    if (rest !== undefined) this.inputs[delivering!.channel].push(rest);
    this.owed = ids.length;
    this.located = new Promise<void>((resolve, reject) => (this.settle = { resolve, reject }));
    // An abort nobody awaits (the write had not started) must not be an unhandled rejection.
    this.located.catch(() => {});
    if (this.owed === 0) this.allLocated();
  }

  /** A data frame consumed on a recording channel (the current frame of `src`, before release). */
  record(i: number, src: FrameSource): void {
    this.inputs[i].push(src.copyCurrent(this.alloc));
  }

  /**
   * Channel i's barrier is located at ring position `cut`: copy what is still unread before it
   * (the replay left, then the ring from its read position) and stop recording.
   */
  locate(i: number, ring: RingConsumer, replay: ReplayChannel | undefined, cut: number): void {
    if (this.recording[i] === 0) return;
    this.recording[i] = 0;
    replay?.remaining(this.inputs[i], this.alloc);
    ring.copyFrames(ring.position, cut, this.inputs[i], this.alloc);
    if (--this.owed === 0) this.allLocated();
  }

  private allLocated(): void {
    this.locatedAt = wallNow();
    this.settle.resolve();
  }

  setOutputs(outputs: ChannelFrames[]): void {
    this.outputs = outputs;
  }

  abort(reason: string): void {
    this.recording.fill(0);
    this.settle.reject(new InFlightAborted(reason));
  }

  /**
   * The state to write (call once `located` resolved). Every input payload is this capture's
   * own copy (of the ring, of a replayed frame, of the undelivered rest of a frame), a buffer
   * of its own or a piece of the arena, so the encoder may hand it to the writer thread as it is.
   */
  state(): TaskChannelState {
    return {
      inputs: this.inputs.map((frames, channel) => ({
        channel,
        edge: this.ids[channel].edge,
        peer: this.ids[channel].producerSubtask,
        frames,
      })),
      outputs: this.outputs,
      valve: this.valve,
    };
  }
}
