/**
 * Which keys changed since the last *completed* checkpoint, for incremental snapshots. A
 * backend marks every put and remove of the record loop; at each barrier the current marks
 * become a generation named after the checkpoint. A delta for checkpoint N holds the union
 * of every generation not yet confirmed, so an aborted checkpoint's changes are not lost: they
 * ride along in the next delta, which is based on the last confirmed checkpoint.
 *
 * A list that was only appended to (markAppend) is remembered with its length before the
 * generation's first append: a delta then holds only the elements past the length it had at the
 * base (an append-only key of the union keeps the oldest generation's length; a key changed any
 * other way in any generation is whole).
 *
 * Likewise a map-state key whose entries were only put or removed one by one (markEntry) is
 * remembered with the user keys it changed: a delta then holds only those entries (the union of
 * the generations' user keys; a key changed whole in any generation is whole).
 */

/** changed[table][groupIndex]: stored keys put or removed (undefined: none). */
export type ChangedKeys = (Set<unknown> | undefined)[][];

/** appended[table][groupIndex]: stored key → its list's length at the base, for keys only appended to since. */
export type AppendStarts = (Map<unknown, number> | undefined)[][];

/** entryChanges[table][groupIndex]: stored key → the stored user keys put or removed since the base, for map keys changed only entry by entry. */
export type EntryChanges = (Map<unknown, Set<unknown>> | undefined)[][];

export class ChangeLog {
  private current: ChangedKeys = [];
  private currentAppends: AppendStarts = [];
  private currentEntries: EntryChanges = [];
  private readonly generations: { id: number; keys: ChangedKeys; appends: AppendStarts; entries: EntryChanges }[] = [];
  /** The append-only keys of the last cut (with its ChangedKeys), for reading only. */
  lastAppends: AppendStarts = [];
  /** The map keys of the last cut changed entry by entry, for reading only. */
  lastEntries: EntryChanges = [];

  constructor(private readonly groupCount: number) {}

  private keysOf(table: number, groupIndex: number): Set<unknown> {
    let t = this.current[table];
    if (t === undefined) t = this.current[table] = new Array(this.groupCount).fill(undefined);
    let s = t[groupIndex];
    if (s === undefined) s = t[groupIndex] = new Set();
    return s;
  }

  /** `stored` changed in any way: the delta holds its whole value. */
  mark(table: number, groupIndex: number, stored: unknown): void {
    this.keysOf(table, groupIndex).add(stored);
    const a = this.currentAppends[table]?.[groupIndex];
    if (a !== undefined) a.delete(stored);
    const e = this.currentEntries[table]?.[groupIndex];
    if (e !== undefined) e.delete(stored);
  }

  /**
   * The entry `userStored` of the map under `stored` was put or removed: the delta may hold only
   * the entries changed so, unless the key changed whole in this generation.
   */
  markEntry(table: number, groupIndex: number, stored: unknown, userStored: unknown): void {
    const keys = this.keysOf(table, groupIndex);
    const t = (this.currentEntries[table] ??= new Array(this.groupCount).fill(undefined));
    const byKey = (t[groupIndex] ??= new Map());
    if (!keys.has(stored)) {
      keys.add(stored);
      byKey.set(stored, new Set([userStored]));
    } else byKey.get(stored)?.add(userStored); // (none: whole already)
  }

  /**
   * Elements were appended to the list under `stored`, which had `length` elements before: the
   * delta may hold only what was appended, unless the key changed otherwise in this generation.
   */
  markAppend(table: number, groupIndex: number, stored: unknown, length: number): void {
    const keys = this.keysOf(table, groupIndex);
    // Changed already in this generation: appended to since (its start stays), or whole.
    if (keys.has(stored)) return;
    keys.add(stored);
    const t = (this.currentAppends[table] ??= new Array(this.groupCount).fill(undefined));
    (t[groupIndex] ??= new Map()).set(stored, length);
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
    this.generations.push({ id, keys: this.current, appends: this.currentAppends, entries: this.currentEntries });
    this.current = [];
    this.currentAppends = [];
    this.currentEntries = [];
    if (this.generations.length === 1) {
      this.lastAppends = this.generations[0].appends;
      this.lastEntries = this.generations[0].entries;
      return this.generations[0].keys;
    }
    const union: ChangedKeys = [];
    const appends: AppendStarts = [];
    const entries: EntryChanges = [];
    for (const g of this.generations) {
      g.keys.forEach((groups, t) => {
        const u = (union[t] ??= new Array(this.groupCount).fill(undefined));
        groups.forEach((keys, gi) => {
          if (keys === undefined) return;
          const into = (u[gi] ??= new Set());
          const appended = g.appends[t]?.[gi];
          const byEntry = g.entries[t]?.[gi];
          for (const k of keys) {
            const start = appended?.get(k);
            const changed = byEntry?.get(k);
            if (!into.has(k)) {
              into.add(k);
              // First changed in this generation: append-only from its length then, which is the base's.
              if (start !== undefined) ((appends[t] ??= new Array(this.groupCount).fill(undefined))[gi] ??= new Map()).set(k, start);
              if (changed !== undefined)
                ((entries[t] ??= new Array(this.groupCount).fill(undefined))[gi] ??= new Map()).set(k, new Set(changed));
            } else {
              if (start === undefined) appends[t]?.[gi]?.delete(k);
              // Entry by entry in every generation so far: the union of their user keys; else whole.
              const sofar = entries[t]?.[gi]?.get(k);
              if (changed === undefined) entries[t]?.[gi]?.delete(k);
              else if (sofar !== undefined) for (const u of changed) sofar.add(u);
            }
          }
        });
      });
    }
    this.lastAppends = appends;
    this.lastEntries = entries;
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
    this.currentAppends = [];
    this.currentEntries = [];
    this.lastAppends = [];
    this.lastEntries = [];
    this.generations.length = 0;
  }
}
