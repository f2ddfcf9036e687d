/**
 * Multi-row INSERT statements: one round trip per batch of rows, the statement text made once
 * per batch size (a full batch, the common case, always reuses it).
 */
import { quoteIdent } from './connection.js';

/** PostgreSQL takes at most this many parameters in one statement. */
const MAX_PARAMETERS = 65_535;
export const DEFAULT_BATCH_ROWS = 500;

export interface InsertTarget {
  table: string;
  columns: readonly string[];
  /** Upsert: the conflict target (a unique index's columns); the other columns are updated. */
  conflictKey?: readonly string[];
}

/** The largest batch that fits PostgreSQL's parameter limit. */
export function maxBatchRows(columns: number): number {
  return Math.floor(MAX_PARAMETERS / Math.max(1, columns));
}

/** `($1, $2), ($3, $4), …`: `rows` tuples of `width` parameters, numbered row-major. */
function tuples(rows: number, width: number): string {
  const out: string[] = new Array(rows);
  for (let r = 0; r < rows; r++) {
    const ps: string[] = new Array(width);
    for (let c = 0; c < width; c++) ps[c] = `$${r * width + c + 1}`;
    out[r] = `(${ps.join(', ')})`;
  }
  return out.join(', ');
}

export class InsertStatements {
  private readonly cache = new Map<number, string>();
  private readonly head: string;
  private readonly tail: string;

  constructor(private readonly t: InsertTarget) {
    this.head = `INSERT INTO ${quoteIdent(t.table)} (${t.columns.map(quoteIdent).join(', ')}) VALUES `;
    if (t.conflictKey === undefined) this.tail = '';
    else {
      const keys = new Set(t.conflictKey);
      const rest = t.columns.filter((c) => !keys.has(c));
      const target = `(${t.conflictKey.map(quoteIdent).join(', ')})`;
      this.tail =
        rest.length === 0
          ? ` ON CONFLICT ${target} DO NOTHING`
          : ` ON CONFLICT ${target} DO UPDATE SET ${rest.map((c) => `${quoteIdent(c)} = EXCLUDED.${quoteIdent(c)}`).join(', ')}`;
    }
  }

  /** The statement for `rows` rows. */
  text(rows: number): string {
    let s = this.cache.get(rows);
    if (s === undefined) {
      s = this.head + tuples(rows, this.t.columns.length) + this.tail;
      // Only a few sizes recur (the full batch, the odd tails at barriers): bound the cache.
      if (this.cache.size > 16) this.cache.clear();
      this.cache.set(rows, s);
    }
    return s;
  }
}

/** Row-major parameters of a batch. */
export function flatten(rows: readonly unknown[][]): unknown[] {
  const out: unknown[] = [];
  for (const r of rows) for (const v of r) out.push(v);
  return out;
}

/** `DELETE … WHERE (key columns) IN (…)` for a batch of keys, the text made once per batch size. */
export class DeleteStatements {
  private readonly cache = new Map<number, string>();
  private readonly head: string;

  constructor(
    table: string,
    private readonly key: readonly string[],
  ) {
    this.head = `DELETE FROM ${quoteIdent(table)} WHERE (${key.map(quoteIdent).join(', ')}) IN (`;
  }

  /** The statement deleting `keys` keys (row-major parameters, as `flatten` makes them). */
  text(keys: number): string {
    let s = this.cache.get(keys);
    if (s === undefined) {
      s = this.head + tuples(keys, this.key.length) + ')';
      if (this.cache.size > 16) this.cache.clear();
      this.cache.set(keys, s);
    }
    return s;
  }
}
