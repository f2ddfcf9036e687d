/** The tables and views a SQL script has created (names match case-insensitively). */
import type { Expr, Query, Statement } from './ast.js';
import { sqlError, type Pos } from './errors.js';
import type { SqlType } from './types.js';

/** A column of a table: physical (read from the connector) or computed from the others. */
export interface Column {
  name: string;
  type: SqlType;
  computed?: Expr;
}

/** A table created by CREATE TABLE. */
export interface TableDef {
  name: string;
  columns: Column[];
  /** The event-time column and its watermark delay (WATERMARK FOR col AS col - INTERVAL …). */
  watermark?: { col: string; delayMs: number };
  primaryKey?: string[];
  options: Record<string, string>;
  stmt: Statement & { k: 'createTable' };
}

/** A view created by CREATE VIEW. */
export interface ViewDef {
  name: string;
  q: Query;
}

/** The script's tables and views. */
export class Catalog {
  private readonly tables = new Map<string, TableDef>();
  private readonly views = new Map<string, ViewDef>();

  /** Adds a table; a second table or view of the same name is an error. */
  addTable(t: TableDef, pos: Pos): void {
    this.free(t.name, pos);
    this.tables.set(t.name.toLowerCase(), t);
  }

  /** Adds a view. */
  addView(v: ViewDef, pos: Pos): void {
    this.free(v.name, pos);
    this.views.set(v.name.toLowerCase(), v);
  }

  /** The table or view named `name`, if any. */
  lookup(name: string): { table: TableDef } | { view: ViewDef } | undefined {
    const t = this.tables.get(name.toLowerCase());
    if (t) return { table: t };
    const v = this.views.get(name.toLowerCase());
    return v ? { view: v } : undefined;
  }

  /** The table named `name`, or an error naming the known ones. */
  table(name: string, pos: Pos): TableDef {
    const t = this.tables.get(name.toLowerCase());
    if (t) return t;
    if (this.views.has(name.toLowerCase())) throw sqlError(pos, `'${name}' is a view; INSERT INTO needs a table`);
    throw sqlError(pos, `table '${name}' not found (${this.known()})`);
  }

  /** "known tables: a, b" for messages. */
  known(): string {
    const names = [...this.tables.values()].map((t) => t.name).concat([...this.views.values()].map((v) => v.name));
    return names.length === 0 ? 'no table or view has been created; CREATE TABLE it first' : `known: ${names.join(', ')}`;
  }

  private free(name: string, pos: Pos): void {
    if (this.tables.has(name.toLowerCase()) || this.views.has(name.toLowerCase()))
      throw sqlError(pos, `a table or view named '${name}' already exists`);
  }
}
