/** The syntax tree of the SQL subset eddy plans (what parser.ts produces). */
import type { Pos } from './errors.js';

/** A type as written: `BIGINT`, `VARCHAR(10)`, `DECIMAL(23, 3)`, `TIMESTAMP(3)`, `ROW<a INT, …>`. */
export interface TypeRef {
  name: string;
  fields?: Array<{ name: string; type: TypeRef }>;
  /** The numbers in parentheses after the name, e.g. [23, 3] for DECIMAL(23, 3). */
  params?: number[];
  pos: Pos;
}

/** An expression; `ref` is a dotted name (`col`, `t.col`, `t.rowcol.field`), resolved by the planner. */
export type Expr =
  | { k: 'lit'; value: string | number | boolean | null; pos: Pos; text?: string }
  | { k: 'interval'; ms: number; pos: Pos }
  | { k: 'ref'; parts: string[]; pos: Pos }
  | { k: 'star'; qual?: string; pos: Pos }
  | { k: 'unary'; op: 'NOT' | '-'; e: Expr; pos: Pos }
  | { k: 'binary'; op: string; l: Expr; r: Expr; pos: Pos }
  | { k: 'between'; e: Expr; lo: Expr; hi: Expr; not: boolean; pos: Pos }
  | { k: 'in'; e: Expr; list: Expr[]; not: boolean; pos: Pos }
  | { k: 'like'; e: Expr; pattern: Expr; not: boolean; pos: Pos }
  | { k: 'isnull'; e: Expr; not: boolean; pos: Pos }
  | { k: 'case'; operand?: Expr; whens: Array<[Expr, Expr]>; otherwise?: Expr; pos: Pos }
  | { k: 'cast'; e: Expr; type: TypeRef; pos: Pos }
  | { k: 'extract'; unit: string; e: Expr; pos: Pos }
  | { k: 'call'; name: string; args: Expr[]; distinct: boolean; star: boolean; filter?: Expr; over?: Over; pos: Pos };

/** `OVER (PARTITION BY … ORDER BY …)`. */
export interface Over {
  partitionBy: Expr[];
  orderBy: Array<{ e: Expr; desc: boolean }>;
  pos: Pos;
}

/** One item of a select list. */
export interface SelectItem {
  e: Expr;
  alias?: string;
}

/** A window table function call: `TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL …))`. */
export interface WindowTvf {
  fn: 'TUMBLE' | 'HOP' | 'CUMULATE' | 'SESSION';
  input: FromItem;
  timeCol: string;
  timePos: Pos;
  partitionBy: string[];
  args: Expr[];
  pos: Pos;
}

/** What a FROM clause reads. */
export type FromItem =
  | { k: 'table'; name: string; alias?: string; pos: Pos; asOf?: Expr }
  | { k: 'sub'; q: Query; alias?: string; pos: Pos }
  | { k: 'tvf'; tvf: WindowTvf; alias?: string; pos: Pos }
  | { k: 'join'; type: 'inner' | 'left' | 'right' | 'full' | 'cross'; l: FromItem; r: FromItem; on?: Expr; pos: Pos };

/** A SELECT block. */
export interface Select {
  k: 'select';
  distinct: boolean;
  items: SelectItem[];
  from?: FromItem;
  where?: Expr;
  groupBy: Expr[];
  having?: Expr;
  pos: Pos;
}

/** A query: a SELECT or a UNION [ALL] of queries. */
export type Query = Select | { k: 'union'; all: boolean; l: Query; r: Query; pos: Pos };

/** A column of CREATE TABLE: physical (with a type) or computed (`name AS expr`). */
export type ColumnDef = { name: string; type: TypeRef; pos: Pos } | { name: string; expr: Expr; pos: Pos };

/** A statement. */
export type Statement =
  | {
      k: 'createTable';
      name: string;
      columns: ColumnDef[];
      watermark?: { col: string; expr: Expr; pos: Pos };
      primaryKey?: string[];
      options: Record<string, string>;
      optionPos: Record<string, Pos>;
      pos: Pos;
    }
  | { k: 'createView'; name: string; q: Query; pos: Pos }
  | { k: 'createFunction'; name: string; module: string; language: string | undefined; pos: Pos }
  | { k: 'insert'; table: string; q: Query; pos: Pos }
  | { k: 'select'; q: Query; pos: Pos }
  | { k: 'explain'; stmt: Statement; pos: Pos }
  | { k: 'set'; key: string; value: string; pos: Pos };
