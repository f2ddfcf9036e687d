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
  private readonly after = new AfterWait();

  constructor(gate: SharedArrayBuffer, traced = false) {
    this.armed = new ArmedTrigger(gate);
    this.lastWait = traced
      ? new SourceWaitRecord(
          () => this.armed.nextDue !== Infinity,
          () => this.isDue(),
        )
      : undefined;
  }

  /**
   * The source begins a wait of at most `timeoutMs` (already bounded by waitMs); returns what is
   * left of it after the record's reads, so the wait still ends when it was set to (at the due
   * time) however long those took.
   */
  waitBegan(kind: SourceWaitLeg['kind'], timeoutMs: number): number {
    if (this.lastWait === undefined) return timeoutMs;
    const at = performance.now();
    this.lastWait.begin(kind, timeoutMs);
    return Math.max(0, timeoutMs - (performance.now() - at));
  }

  /** The source's input ended: its waits from here on are its last drain's, and its park's until the final checkpoint. */
  endOfInput(): void {
    this.lastWait?.endOfInput();
  }

  /** The source is back from its wait. */
  waitEnded(): void {
    if (this.lastWait === undefined) return;
    this.lastWait.end();
    this.after.ended(wallNow());
  }

  /** The source gives its event loop a turn (traced runs: timed, see AfterWait). */
  turnBegan(): void {
    if (this.lastWait !== undefined) this.after.turnBegan();
  }

  turnEnded(): void {
    if (this.lastWait !== undefined) this.after.turnEnded();
  }

  /**
   * Traced runs: the source's last wait, if its wait accounts ended after the trigger at
   * `triggeredAt` (at `wokeAt`), with what followed until it took the trigger `tookMs` after it.
   */
  waitLeg(triggeredAt: number, wokeAt: number, tookMs: number): SourceWaitLeg | undefined {
    if (this.lastWait === undefined) return undefined;
    const leg = this.lastWait.leg(triggeredAt) ?? this.lastWait.unrecorded(triggeredAt);
    return this.after.into(leg, triggeredAt, wokeAt, tookMs);
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

/**
 * Traced runs: what a source did after its last wait until it took the trigger (issue 13: a
 * source back from its wait at +0.3 ms took the trigger at +36): when its record's own reads
 * were done, and its event-loop turns (how many, the longest).
 */
class AfterWait {
  private readsDoneAt = 0;
  private turns = 0;
  private longestTurn = 0;
  private turnAt = 0;

  ended(readsDoneAt: number): void {
    this.readsDoneAt = readsDoneAt;
    this.turns = 0;
    this.longestTurn = 0;
  }

  turnBegan(): void {
    this.turnAt = wallNow();
  }

  turnEnded(): void {
    this.turns++;
    this.longestTurn = Math.max(this.longestTurn, wallNow() - this.turnAt);
  }

  into(leg: SourceWaitLeg, triggeredAt: number, wokeAt: number, tookMs: number): SourceWaitLeg {
    leg.readsDoneMs = this.readsDoneAt - triggeredAt;
    leg.wokeMs = wokeAt - triggeredAt;
    leg.tookMs = tookMs;
    leg.turns = this.turns;
    if (this.turns > 0) leg.longestTurnMs = this.longestTurn;
    return leg;
  }
}
