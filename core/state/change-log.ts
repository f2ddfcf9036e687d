/**
 * Which keys changed since the last *completed* checkpoint, for incremental snapshots. A
 * backend marks every put and remove of the record loop; at each barrier the current marks
 * become a generation named after the checkpoint. A delta for checkpoint N holds the union
 * of every generation not yet confirmed, so an aborted checkpoint's changes are not lost: they
 * ride along in the next delta, which is based on the last confirmed checkpoint.
 */

/** changed[table][groupIndex]: stored keys put or removed (undefined: none). */
export type ChangedKeys = (Set<unknown> | undefined)[][];

export class ChangeLog {
  private current: ChangedKeys = [];
  private readonly generations: { id: number; keys: ChangedKeys }[] = [];

  constructor(private readonly groupCount: number) {}

  mark(table: number, groupIndex: number, stored: unknown): void {
    let t = this.current[table];
    if (t === undefined) t = this.current[table] = new Array(this.groupCount).fill(undefined);
    let s = t[groupIndex];
    if (s === undefined) s = t[groupIndex] = new Set();
    s.add(stored);
  }

  /**
   * At barrier `id`: closes the current generation and returns every key changed since the
   * last confirmed checkpoint, for reading only. When every earlier checkpoint was confirmed
   * (the usual case) that is the closed generation itself: no copy of millions of keys on the
   * record loop at the barrier. Only after a declined or unconfirmed checkpoint are
   * generations unioned. A subclass may answer undefined: too much changed for a delta to be
   * worth it, take a full snapshot.
   */
  cut(id: number): ChangedKeys | undefined {
    this.generations.push({ id, keys: this.current });
    this.current = [];
    if (this.generations.length === 1) return this.generations[0].keys;
    const union: ChangedKeys = [];
    for (const g of this.generations) {
      g.keys.forEach((groups, t) => {
        const u = (union[t] ??= new Array(this.groupCount).fill(undefined));
        groups.forEach((keys, gi) => {
          if (keys === undefined) return;
          const into = (u[gi] ??= new Set());
          for (const k of keys) into.add(k);
        });
      });
    }
    return union;
  }

  /** Checkpoints cut and not yet confirmed, oldest first. */
  protected get pendingIds(): number[] {
    return this.generations.map((g) => g.id);
  }

  /** Checkpoint `id` completed: its changes and older ones are in the confirmed chain. */
  confirm(id: number): void {
    let n = 0;
    while (n < this.generations.length && this.generations[n].id <= id) n++;
    this.generations.splice(0, n);
  }

  /** After a restore nothing is pending: the next snapshot is a full one anyway. */
  reset(): void {
    this.current = [];
    this.generations.length = 0;
  }
}
