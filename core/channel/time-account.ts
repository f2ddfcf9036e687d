/**
 * Time spent in one kind of wait (parked on the gate, waiting for ring space), kept in shared
 * memory for another thread to read: an accumulated total and the start of the wait in
 * progress (0 when none), so a reader sees a long wait grow while it lasts instead of all at
 * once when it ends. One writer; plain stores (only at the start and end of a wait, never per
 * record). Times are wall-clock ms (timeOrigin + now), comparable between threads.
 */
export const wallNow = (): number => performance.timeOrigin + performance.now();

export class TimeAccount {
  /** When the last wait ended (wallNow), 0 before the first: tells whether a task was waiting when something happened. */
  endedAt = 0;

  constructor(
    private readonly cells: Float64Array,
    private readonly totalAt: number,
    private readonly sinceAt: number,
  ) {}

  begin(): void {
    this.cells[this.sinceAt] = wallNow();
  }

  end(): void {
    const since = this.cells[this.sinceAt];
    if (since === 0) return;
    const now = wallNow();
    this.endedAt = now;
    // Total first, then since: a reader that sees since = 0 already sees the new total.
    this.cells[this.totalAt] += now - since;
    this.cells[this.sinceAt] = 0;
  }
}

/** The account's total at `now`, the wait in progress included (read from another thread). */
export function readAccount(cells: Float64Array, totalAt: number, sinceAt: number, now: number): number {
  for (;;) {
    const since = cells[sinceAt];
    const total = cells[totalAt];
    // A wait that ended between the two reads: read again (the new total is there now).
    if (cells[sinceAt] !== since) continue;
    return since === 0 ? total : total + Math.max(0, now - since);
  }
}
