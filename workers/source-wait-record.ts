/**
 * Traced runs (EDDY_CHECKPOINT_TRACE=1): a source's last wait as its own thread saw it, so a
 * start delay spent in a source's wait (the 'woke' leg) reads as the OS's part or the engine's.
 * A wait bounded late (set to end well after the due time) is the engine's; a thread that slept
 * to the due time and then waited for a CPU is the OS's. The thread's CPU time and run-queue
 * wait (schedstat, Linux) are read at both ends of every wait: two file reads, tens of µs, at
 * most a few hundred times a second (a blocked wait lasts up to 10 ms), in traced runs only.
 */
import { wallNow } from '../core/channel/time-account.js';
import type { SourceWaitLeg } from '../core/checkpoint/checkpoint-stats.js';
import { ownSchedTimes, type SchedTimes } from '../core/checkpoint/run-queue.js';

export class SourceWaitRecord {
  private kind: SourceWaitLeg['kind'] = 'parked';
  private beganAt = 0;
  private boundAt = 0;
  private endedAt = 0;
  private sampled = false;
  private readonly atBegin: SchedTimes = { cpuNs: 0, runQueueNs: 0 };
  private readonly atEnd: SchedTimes = { cpuNs: 0, runQueueNs: 0 };

  /** A wait of at most `timeoutMs` begins. */
  begin(kind: SourceWaitLeg['kind'], timeoutMs: number): void {
    this.kind = kind;
    this.beganAt = wallNow();
    this.boundAt = this.beganAt + timeoutMs;
    this.endedAt = 0;
    this.sampled = ownSchedTimes(this.atBegin);
  }

  end(): void {
    this.endedAt = wallNow();
    if (this.sampled) this.sampled = ownSchedTimes(this.atEnd);
  }

  /** The last wait, if it ended after `triggeredAt` (ms after it). */
  leg(triggeredAt: number): SourceWaitLeg | undefined {
    if (this.endedAt < triggeredAt) return undefined;
    const leg: SourceWaitLeg = {
      kind: this.kind,
      beganMs: this.beganAt - triggeredAt,
      boundMs: this.boundAt - triggeredAt,
      endedMs: this.endedAt - triggeredAt,
    };
    if (this.sampled) {
      leg.runQueueMs = (this.atEnd.runQueueNs - this.atBegin.runQueueNs) / 1e6;
      leg.cpuMs = (this.atEnd.cpuNs - this.atBegin.cpuNs) / 1e6;
    }
    return leg;
  }
}
