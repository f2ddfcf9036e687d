/**
 * Barrier handling for one task's inputs, after Flink's SingleCheckpointBarrierHandler and
 * BarrierHandlerState: two states (waiting for the first barrier of a checkpoint, collecting
 * the rest), each event returns the next state.
 *
 * Both modes collect barrier N from every live input before the snapshot. They differ in one
 * thing only: exactly-once holds back (blocks) an input that has delivered N, so no record
 * that follows N is processed before the snapshot; at-least-once lets it flow, so the snapshot
 * may include records after N (replayed again after a restore: duplicates, never losses).
 *
 * A newer checkpoint always wins: a barrier or cancel-barrier of M > N while collecting N
 * aborts N, since some input is already past N. Ids at or below the newest one seen are late
 * and ignored, so each checkpoint id is triggered or aborted at most once here.
 *
 * The handler carries what the snapshot needs to know about the barrier: the trigger time,
 * the barrier's flags (BARRIER_FLAG_*, taken from its first arrival) and when alignment
 * started (the first arrival, on the handler's clock), so the host is handed all of it at
 * once, as Flink's handler marks the alignment start itself.
 *
 * Unaligned barriers (BARRIER_FLAG_UNALIGNED, seen through the rings' priority mailboxes)
 * trigger the snapshot at the first arrival, block nothing, and are then only counted: the
 * host records each channel's in-flight data until its barrier is located (Flink's
 * WaitingForFirstBarrierUnaligned / CollectingBarriersUnaligned). Sources decide per
 * checkpoint, so every barrier of one checkpoint is either aligned or unaligned.
 *
 * The handler only changes flags and counters: it never holds records, and it allocates
 * nothing per event (per-channel bookkeeping is sized once).
 */
import { BARRIER_FLAG_UNALIGNED } from '../channel/layout.js';
import type { CheckpointDeclineCode } from './decline.js';

/** The reasons this handler aborts a checkpoint for. */
export type BarrierAbortCode = Extract<CheckpointDeclineCode, 'cancel-barrier' | 'superseded'>;

export interface BarrierHost {
  /** Stop reading channel i (aligned mode) / read it again. */
  block(channel: number): void;
  unblockAll(): void;
  /**
   * All (live) inputs delivered barrier `id`: snapshot now, before any further record is
   * processed. `timestamp` is the trigger time the barrier carries, `flags` its
   * BARRIER_FLAG_*, `alignmentStartedAt` when its first barrier arrived (the handler's clock).
   */
  triggerCheckpoint(id: number, timestamp: number, flags: number, alignmentStartedAt: number): void;
  /** Checkpoint `id` cannot complete here (cancel-barrier, or a newer barrier overtook it): forward a cancel-barrier downstream and decline it. */
  abortCheckpoint(id: number, code: BarrierAbortCode): void;
}

export interface BarrierHandler {
  onBarrier(channel: number, id: number, timestamp: number, flags?: number): void;
  onCancelBarrier(channel: number, id: number): void;
  /** The channel delivered end-of-stream: it will deliver no more barriers and must not hold an alignment up. */
  onEndOfStream(channel: number): void;
  /** id of the checkpoint being aligned/collected, or -1. */
  readonly pending: number;
}

export type BarrierMode = 'exactly-once' | 'at-least-once';

/** The bookkeeping the states share; each state is a stateless singleton acting on it. */
class Inputs {
  /** 1 for a channel that delivered the pending checkpoint's barrier. */
  readonly arrived: Uint8Array;
  readonly ended: Uint8Array;
  live: number;
  /** Live channels that still owe the pending checkpoint's barrier. */
  owed = 0;
  /** Whether any channel is blocked, so unblockAll is only called when it changes something. */
  holding = false;
  pending = -1;
  timestamp = 0;
  flags = 0;
  /** The pending checkpoint is unaligned: already triggered, nothing is blocked. */
  unaligned = false;
  /** When the pending checkpoint's first barrier arrived (clock()). */
  alignmentStartedAt = 0;
  /** The newest checkpoint id seen in any form; anything at or below it is late. */
  newest = -1;

  constructor(
    readonly aligned: boolean,
    channels: number,
    readonly host: BarrierHost,
    private readonly clock: () => number,
  ) {
    this.arrived = new Uint8Array(channels);
    this.ended = new Uint8Array(channels);
    this.live = channels;
  }

  start(id: number, timestamp: number, flags: number): void {
    this.pending = id;
    this.newest = id;
    this.timestamp = timestamp;
    this.flags = flags;
    this.unaligned = (flags & BARRIER_FLAG_UNALIGNED) !== 0;
    this.alignmentStartedAt = this.clock();
    // Unaligned: snapshot at the first barrier, before its channel counts as arrived.
    if (this.unaligned) this.host.triggerCheckpoint(id, timestamp, flags, this.alignmentStartedAt);
    this.owed = this.live;
  }

  /** Clears the pending checkpoint before calling the host, so the host sees a settled handler. */
  private settle(): void {
    this.pending = -1;
    this.owed = 0;
    this.arrived.fill(0);
  }

  private release(): void {
    if (!this.holding) return;
    this.holding = false;
    this.host.unblockAll();
  }

  /** The pending checkpoint's barrier on `channel`; returns the next state. */
  arrive(channel: number): State {
    if (this.arrived[channel] === 1) return COLLECTING;
    this.arrived[channel] = 1;
    if (--this.owed === 0) return this.complete();
    if (this.aligned && !this.unaligned) {
      this.holding = true;
      this.host.block(channel);
    }
    return COLLECTING;
  }

  complete(): State {
    const id = this.pending;
    this.settle();
    // Snapshot first, then let records in: in aligned mode no record after the barrier may
    // reach the operators before the snapshot is taken. Unaligned: it was taken at the first.
    if (!this.unaligned) this.host.triggerCheckpoint(id, this.timestamp, this.flags, this.alignmentStartedAt);
    this.release();
    return WAITING;
  }

  abort(code: BarrierAbortCode): State {
    const id = this.pending;
    this.settle();
    this.host.abortCheckpoint(id, code);
    this.release();
    return WAITING;
  }

  /** Returns true if the pending alignment was waiting on `channel`. */
  end(channel: number): boolean {
    this.ended[channel] = 1;
    this.live--;
    if (this.pending < 0 || this.arrived[channel] === 1) return false;
    this.owed--;
    return true;
  }
}

interface State {
  barrier(s: Inputs, channel: number, id: number, timestamp: number, flags: number): State;
  cancel(s: Inputs, channel: number, id: number): State;
  endOfStream(s: Inputs, channel: number): State;
}

const WAITING: State = {
  barrier(s, channel, id, timestamp, flags) {
    if (id <= s.newest) return WAITING;
    s.start(id, timestamp, flags);
    return s.arrive(channel);
  },
  cancel(s, _channel, id) {
    if (id <= s.newest) return WAITING;
    // Remembered as seen, so its barriers still on the way from other inputs count as late.
    s.newest = id;
    s.host.abortCheckpoint(id, 'cancel-barrier');
    return WAITING;
  },
  endOfStream(s, channel) {
    s.end(channel);
    return WAITING;
  },
};

const COLLECTING: State = {
  barrier(s, channel, id, timestamp, flags) {
    if (id === s.pending) return s.arrive(channel);
    if (id <= s.newest) return COLLECTING;
    s.abort('superseded');
    return WAITING.barrier(s, channel, id, timestamp, flags);
  },
  cancel(s, channel, id) {
    if (id === s.pending) return s.abort('cancel-barrier');
    if (id <= s.newest) return COLLECTING;
    s.abort('superseded');
    return WAITING.cancel(s, channel, id);
  },
  endOfStream(s, channel) {
    if (s.end(channel) && s.owed === 0) return s.complete();
    return COLLECTING;
  },
};

class Handler implements BarrierHandler {
  private state: State = WAITING;

  constructor(private readonly inputs: Inputs) {}

  get pending(): number {
    return this.inputs.pending;
  }

  onBarrier(channel: number, id: number, timestamp: number, flags = 0): void {
    if (this.isOpen(channel)) this.state = this.state.barrier(this.inputs, channel, id, timestamp, flags);
  }

  onCancelBarrier(channel: number, id: number): void {
    if (this.isOpen(channel)) this.state = this.state.cancel(this.inputs, channel, id);
  }

  onEndOfStream(channel: number): void {
    if (this.isOpen(channel)) this.state = this.state.endOfStream(this.inputs, channel);
  }

  /** An ended channel can deliver nothing more; an index out of range is a wiring bug. */
  private isOpen(channel: number): boolean {
    const ended = this.inputs.ended;
    if (!(channel >= 0 && channel < ended.length)) throw new RangeError(`barrier handler: no input channel ${channel}`);
    return ended[channel] === 0;
  }
}

/** `clock` times the alignment (ms); performance.now unless a test drives it. */
export function createBarrierHandler(
  mode: BarrierMode,
  channels: number,
  host: BarrierHost,
  clock: () => number = () => performance.now(),
): BarrierHandler {
  if (!Number.isInteger(channels) || channels < 1)
    throw new RangeError(`barrier handler: channels must be a positive integer, got ${channels}`);
  return new Handler(new Inputs(mode === 'exactly-once', channels, host, clock));
}
