/**
 * Traced runs (EDDY_CHECKPOINT_TRACE=1): a source's last wait as its own thread saw it, so a
 * start delay spent in a source's wait (the 'woke' leg) reads as the OS's part or the engine's.
 * A wait bounded late (set to end well after the due time) is the engine's; a thread that slept
 * to the due time and then waited for a CPU is the OS's. The thread's CPU time and run-queue
 * wait (schedstat, Linux) are read at both ends of every wait: two file reads, tens of µs, at
 * most a few hundred times a second (a blocked wait lasts up to 10 ms), in traced runs only. The
 * host's steal (/proc/stat, a longer read) and the thread's major page faults only around a wait
 * that begins with a trigger armed. The waits after the source's input ended (its last drain,
 * which serves the trigger as every drain does, then its park until the final checkpoint) are
 * recorded the same way and marked `afterEnd`: a start delay spent there reads as such.
 */
import { wallNow } from '../core/channel/time-account.js';
import type { SourceWaitLeg } from '../core/checkpoint/checkpoint-stats.js';
import { ownMajorFaults, ownSchedTimes, stealMs, type SchedTimes } from '../core/checkpoint/run-queue.js';

export class SourceWaitRecord {
  private kind: SourceWaitLeg['kind'] = 'parked';
  /** The source's input has ended: every wait from here on is its last drain or its park until the final checkpoint. */
  private inputEnded = false;
  private afterEnd = false;
  private beganAt = 0;
  private boundAt = 0;
  private endedAt = 0;
  private sampled = false;
  private readonly atBegin: SchedTimes = { cpuNs: 0, runQueueNs: 0 };
  private readonly atEnd: SchedTimes = { cpuNs: 0, runQueueNs: 0 };
  private stealAtBegin: number | undefined;
  private stealAtEnd: number | undefined;
  private faultsAtBegin: number | undefined;
  private faultsAtEnd: number | undefined;
  /** The end's schedstat read waits for the leg (a trigger was due at the wait's end), and when it was taken. */
  private deferred = false;
  private sampledAt = 0;

  /**
   * `armed`: a trigger is armed now (a wait that begins then is one a start delay may fall in);
   * `due`: a trigger is due now (a wait that ends then is followed at once by the take).
   */
  constructor(
    private readonly armed: () => boolean = () => false,
    private readonly due: () => boolean = () => false,
  ) {}

  /** The source's input ended (its reader said so): the waits that follow are marked `afterEnd`. */
  endOfInput(): void {
    this.inputEnded = true;
  }

  /** A wait of at most `timeoutMs` begins. */
  begin(kind: SourceWaitLeg['kind'], timeoutMs: number): void {
    this.kind = kind;
    this.afterEnd = this.inputEnded;
    this.beganAt = wallNow();
    this.boundAt = this.beganAt + timeoutMs;
    this.endedAt = 0;
    this.sampledAt = 0;
    this.sampled = ownSchedTimes(this.atBegin);
    const armed = this.armed();
    this.stealAtBegin = armed ? stealMs() : undefined;
    this.faultsAtBegin = armed ? ownMajorFaults() : undefined;
  }

  /**
   * Only the clock and schedstat here: the source goes on to take the trigger right after, and
   * two more /proc reads there were up to 20 ms of its start delay on a loaded machine. The
   * host's steal and the major faults are read when the leg is asked for (after the barrier
   * is out): coarse counters, so their window reaching a little past the wait changes little.
   */
  end(): void {
    this.endedAt = wallNow();
    // A trigger due now is taken next: even the schedstat read waits for the leg (one such
    // read was 41 ms of a start delay on a loaded machine). Its window then runs to that read.
    this.deferred = this.sampled && this.due();
    if (this.sampled && !this.deferred) this.sampled = ownSchedTimes(this.atEnd);
    this.stealAtEnd = this.faultsAtEnd = undefined;
  }

  /**
   * The last wait's times as a leg of kind 'unrecorded', for a trigger after it ended: the
   * source's wait accounts ended after the trigger, but no wait this record saw did.
   */
  unrecorded(triggeredAt: number): SourceWaitLeg {
    const leg: SourceWaitLeg = {
      kind: 'unrecorded',
      beganMs: this.beganAt - triggeredAt,
      boundMs: this.boundAt - triggeredAt,
      endedMs: this.endedAt - triggeredAt,
    };
    if (this.afterEnd) leg.afterEnd = true;
    return leg;
  }

  /** The last wait, if it ended after `triggeredAt` (ms after it). */
  leg(triggeredAt: number): SourceWaitLeg | undefined {
    if (this.endedAt < triggeredAt) return undefined;
    if (this.deferred) {
      this.sampled = ownSchedTimes(this.atEnd);
      this.sampledAt = wallNow();
      this.deferred = false;
    }
    if (this.stealAtBegin !== undefined) this.stealAtEnd ??= stealMs();
    if (this.faultsAtBegin !== undefined) this.faultsAtEnd ??= ownMajorFaults();
    const leg: SourceWaitLeg = {
      kind: this.kind,
      beganMs: this.beganAt - triggeredAt,
      boundMs: this.boundAt - triggeredAt,
      endedMs: this.endedAt - triggeredAt,
    };
    if (this.afterEnd) leg.afterEnd = true;
    if (this.sampled) {
      leg.runQueueMs = (this.atEnd.runQueueNs - this.atBegin.runQueueNs) / 1e6;
      leg.cpuMs = (this.atEnd.cpuNs - this.atBegin.cpuNs) / 1e6;
      if (this.sampledAt > this.endedAt) leg.sampledToMs = this.sampledAt - triggeredAt;
    }
    if (this.stealAtBegin !== undefined && this.stealAtEnd !== undefined) leg.stealMs = this.stealAtEnd - this.stealAtBegin;
    if (this.faultsAtBegin !== undefined && this.faultsAtEnd !== undefined) leg.majorFaults = this.faultsAtEnd - this.faultsAtBegin;
    return leg;
  }
}
