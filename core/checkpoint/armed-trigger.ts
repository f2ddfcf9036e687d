/**
 * The armed trigger: a periodic checkpoint left in a source task's gate ahead of its due time,
 * which the source takes itself once the time has come. A trigger posted by the main thread at
 * the due time waits for that thread's timer and for it to be scheduled, and on two busy cores
 * that alone cost milliseconds at p99; armed ahead, the source's own timed wait ends at the due
 * time. The coordinator still decides everything (ids, when, aligned or not, savepoints, min
 * pause, declines); only the moment of taking moves to the source.
 *
 *   gate Int32 cells   3 TRIGGER_SEQ    even: stable, odd: being written (a seqlock)
 *                      4 TRIGGER_ID     checkpoint id; 0 = nothing armed (withdrawn)
 *                      5 TRIGGER_FLAGS  its BARRIER_FLAG_*
 *   gate Float64 cell  3 TRIGGER_DUE    when it is due (wall-clock ms: timeOrigin + now)
 *
 * One writer (the main thread), one reader (the source task). Ordering with the task's command
 * port: the coordinator withdraws the armed trigger before it posts any trigger or abort, and
 * a source takes one only if it was due before it last drained its port (see takeDue), so a
 * taken trigger always comes after the commands posted before it was armed and before those
 * posted after.
 */
import { GATE_INT32S, GATE_TRIGGER_DUE_F64, GATE_TRIGGER_FLAGS, GATE_TRIGGER_ID, GATE_TRIGGER_SEQ } from '../channel/layout.js';
import { ringGate } from '../channel/ring.js';

function views(gate: SharedArrayBuffer): [Int32Array, Float64Array] {
  return [new Int32Array(gate, 0, GATE_INT32S), new Float64Array(gate, 0, GATE_INT32S / 2)];
}

/** Main thread: writes one source gate's armed trigger (id 0 withdraws it). */
export class TriggerCell {
  private readonly cells: Int32Array;
  private readonly due: Float64Array;

  constructor(gate: SharedArrayBuffer) {
    [this.cells, this.due] = views(gate);
  }

  /**
   * Arms checkpoint `id` (barrier `flags`) due at `dueAt`, and rings the gate: a source waiting
   * for output space or input bounds its wait by the due time from then on.
   */
  arm(id: number, flags: number, dueAt: number): void {
    this.write(id, flags, dueAt);
    ringGate(this.cells);
  }

  /** Nothing armed any more: a source that has not taken the last one never will. */
  withdraw(): void {
    if (this.cells[GATE_TRIGGER_ID] !== 0) this.write(0, 0, Infinity);
  }

  private write(id: number, flags: number, dueAt: number): void {
    // Odd while writing: a reader that overlaps the write sees the sequence move and reads again.
    Atomics.add(this.cells, GATE_TRIGGER_SEQ, 1);
    this.cells[GATE_TRIGGER_ID] = id;
    this.cells[GATE_TRIGGER_FLAGS] = flags;
    this.due[GATE_TRIGGER_DUE_F64] = dueAt;
    Atomics.add(this.cells, GATE_TRIGGER_SEQ, 1);
  }
}

/** A trigger taken by a source: the checkpoint, its barrier flags and the time it was due. */
export interface TakenTrigger {
  id: number;
  flags: number;
  dueAt: number;
}

/** Source task: reads its gate's armed trigger. */
export class ArmedTrigger {
  private readonly cells: Int32Array;
  private readonly due: Float64Array;
  /** The sequence last taken or found withdrawn: nothing new until it moves. */
  private seen = 0;

  constructor(gate: SharedArrayBuffer) {
    [this.cells, this.due] = views(gate);
  }

  /** When the armed trigger not yet taken is due (wall-clock ms); Infinity when there is none. One atomic load when nothing is new. */
  get nextDue(): number {
    for (;;) {
      const s = Atomics.load(this.cells, GATE_TRIGGER_SEQ);
      // Odd: the main thread is writing; it rings the gate when done, which wakes any wait.
      if (s === this.seen || (s & 1) !== 0) return Infinity;
      const id = this.cells[GATE_TRIGGER_ID];
      const due = this.due[GATE_TRIGGER_DUE_F64];
      if (Atomics.load(this.cells, GATE_TRIGGER_SEQ) !== s) continue;
      return id === 0 ? Infinity : due;
    }
  }

  /**
   * Takes the armed trigger into `out` if it was due at `now`. `now` must be read before the
   * caller last drained its command port: the coordinator posts nothing after arming that a
   * taken trigger may overtake (it withdraws first), and everything it posted before arming
   * (a notify of the previous checkpoint) was on the port before the due time.
   */
  takeDue(now: number, out: TakenTrigger): boolean {
    for (;;) {
      const s = Atomics.load(this.cells, GATE_TRIGGER_SEQ);
      if (s === this.seen || (s & 1) !== 0) return false;
      const id = this.cells[GATE_TRIGGER_ID];
      const flags = this.cells[GATE_TRIGGER_FLAGS];
      const due = this.due[GATE_TRIGGER_DUE_F64];
      if (Atomics.load(this.cells, GATE_TRIGGER_SEQ) !== s) continue;
      if (id === 0) {
        this.seen = s;
        return false;
      }
      if (now < due) return false;
      this.seen = s;
      out.id = id;
      out.flags = flags;
      out.dueAt = due;
      return true;
    }
  }
}
