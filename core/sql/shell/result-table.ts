/**
 * A query's changelog applied to a materialized table, as Flink's SQL client keeps a result in
 * table mode (MaterializedCollectStreamResult): an insert or update-after appends its row; an
 * update-before or delete removes the newest equal row, so an updated row moves to the end.
 * Pure (no terminal, no engine): the shell feeds it and renders it, tests read it.
 */

import type { ChangeRow, Row } from '../runtime/changelog.js';

/** A row of a result (the runtime's Row). */
export type ResultRow = Row;
/** One change of a result (the runtime's ChangeRow). */
export type ResultChange = ChangeRow;

export class MaterializedTable {
  /** Rows by insertion number; a Map keeps insertion order and deletes in O(1). */
  private readonly rows = new Map<number, ResultRow>();
  /** Row content → the insertion numbers of equal rows, oldest first. */
  private readonly byContent = new Map<string, number[]>();
  private nextId = 0;
  /** Changes applied so far. */
  changes = 0;
  /** Retractions that found no equal row (a changelog that does not fit the table). */
  unmatched = 0;

  /** `columns` fixes the order of columns (for display and for comparing rows by content). */
  constructor(readonly columns: string[]) {}

  private content(row: ResultRow): string {
    return JSON.stringify(this.columns.map((c) => row[c] ?? null));
  }

  apply(change: ResultChange): void {
    this.changes++;
    const key = this.content(change.row);
    if (change.kind === '+I' || change.kind === '+U') {
      const id = this.nextId++;
      this.rows.set(id, change.row);
      const ids = this.byContent.get(key);
      if (ids) ids.push(id);
      else this.byContent.set(key, [id]);
      return;
    }
    const ids = this.byContent.get(key);
    const id = ids?.pop();
    if (id === undefined) {
      this.unmatched++;
      return;
    }
    if (ids!.length === 0) this.byContent.delete(key);
    this.rows.delete(id);
  }

  get size(): number {
    return this.rows.size;
  }

  /** Every row, in table order. */
  all(): ResultRow[] {
    return [...this.rows.values()];
  }

  /** The last `n` rows in table order (the newest: what a live view shows). */
  tail(n: number): ResultRow[] {
    if (n <= 0) return [];
    const out: ResultRow[] = [];
    let skip = this.rows.size - n;
    for (const r of this.rows.values()) {
      if (skip-- > 0) continue;
      out.push(r);
    }
    return out;
  }
}
