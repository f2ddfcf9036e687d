/**
 * A source task's side of the armed trigger (core/checkpoint/armed-trigger.ts): queued as a
 * trigger command once due, and a bound on every wait of the source (for output space, for
 * input, for the final checkpoint), so the source's own timer takes the checkpoint on time.
 */
import { ArmedTrigger, type TakenTrigger } from '../core/checkpoint/armed-trigger.js';
import { BARRIER_FLAG_FINAL, BARRIER_FLAG_SAVEPOINT, BARRIER_FLAG_STOP, BARRIER_FLAG_UNALIGNED } from '../core/channel/layout.js';
import { wallNow } from '../core/channel/time-account.js';
import type { SourceWaitLeg } from '../core/checkpoint/checkpoint-stats.js';
import type { TaskCommand } from '../core/runtime/messages.js';
import { SourceWaitRecord } from './source-wait-record.js';

export class SourceTrigger {
  private readonly armed: ArmedTrigger;
  private readonly taken: TakenTrigger = { id: 0, flags: 0, dueAt: 0 };
  /** The source's last wait, in traced runs (the start delay's 'woke' leg, see SourceWaitRecord). */
  private readonly lastWait: SourceWaitRecord | undefined;

  constructor(gate: SharedArrayBuffer, traced = false) {
    this.armed = new ArmedTrigger(gate);
    this.lastWait = traced ? new SourceWaitRecord(() => this.armed.nextDue !== Infinity) : undefined;
  }

  /** The source begins a wait of at most `timeoutMs` (already bounded by waitMs). */
  waitBegan(kind: SourceWaitLeg['kind'], timeoutMs: number): void {
    this.lastWait?.begin(kind, timeoutMs);
  }

  /** The source's input ended: its waits from here on are its last drain's, and its park's until the final checkpoint. */
  endOfInput(): void {
    this.lastWait?.endOfInput();
  }

  /** The source is back from its wait. */
  waitEnded(): void {
    this.lastWait?.end();
  }

  /** Traced runs: the source's last wait, if it ended after the trigger at `triggeredAt`. */
  waitLeg(triggeredAt: number): SourceWaitLeg | undefined {
    return this.lastWait?.leg(triggeredAt);
  }

  /**
   * Queues the armed trigger if it was due at `now`, read before the port was last drained
   * (see ArmedTrigger.takeDue). Its timestamp is the due time: the start delay runs from there.
   */
  takeDue(now: number, queue: TaskCommand[]): void {
    if (!this.armed.takeDue(now, this.taken)) return;
    const { id, flags, dueAt } = this.taken;
    queue.push({
      type: 'trigger',
      id,
      timestamp: dueAt,
      final: (flags & BARRIER_FLAG_FINAL) !== 0,
      kind: (flags & BARRIER_FLAG_SAVEPOINT) !== 0 ? 'savepoint' : 'checkpoint',
      stop: (flags & BARRIER_FLAG_STOP) !== 0,
      unaligned: (flags & BARRIER_FLAG_UNALIGNED) !== 0,
    });
  }

  /** An armed trigger is due and not yet taken. */
  isDue(): boolean {
    const due = this.armed.nextDue;
    return due !== Infinity && due <= wallNow();
  }

  /** `ms`, or less: a wait must end when the armed trigger falls due. (Bound: a drain takes it as is.) */
  readonly waitMs = (ms: number): number => {
    const due = this.armed.nextDue;
    return due === Infinity ? ms : Math.min(ms, Math.max(0, due - wallNow()));
  };
}
