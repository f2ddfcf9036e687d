/**
 * SQL types as eddy represents them: numbers for every numeric type (DECIMAL is a double),
 * strings, booleans, TIMESTAMP as ms since the epoch (as the Nexmark model and event time
 * use), ROW as a nested plain object. NULL is `null`.
 */
import type { TypeRef } from './ast.js';
import { sqlError, sqlUnsupported } from './errors.js';
import { decimalCast } from './decimal.js';

/** A SQL type: a name, and the fields of a ROW. */
export interface SqlType {
  name: 'BIGINT' | 'INT' | 'DOUBLE' | 'DECIMAL' | 'VARCHAR' | 'BOOLEAN' | 'TIMESTAMP' | 'INTERVAL' | 'ROW' | 'NULL';
  fields?: Array<{ name: string; type: SqlType }>;
  /** DECIMAL only, when known (a literal, a DDL DECIMAL(p, s), a product of those): see decimal.ts. */
  precision?: number;
  scale?: number;
  /**
   * TIMESTAMP only: a processing-time attribute (Flink's `TIMESTAMP_LTZ(3) *PROCTIME*`, what
   * PROCTIME() makes). A window TVF over it uses processing-time windows; read as a value it is
   * the wall clock when the row is computed, an instant (ms since the epoch).
   */
  proctime?: boolean;
}

/** The types of literals and results. */
export const T = {
  BIGINT: { name: 'BIGINT' } as SqlType,
  INT: { name: 'INT' } as SqlType,
  DOUBLE: { name: 'DOUBLE' } as SqlType,
  DECIMAL: { name: 'DECIMAL' } as SqlType,
  VARCHAR: { name: 'VARCHAR' } as SqlType,
  BOOLEAN: { name: 'BOOLEAN' } as SqlType,
  TIMESTAMP: { name: 'TIMESTAMP' } as SqlType,
  INTERVAL: { name: 'INTERVAL' } as SqlType,
  NULL: { name: 'NULL' } as SqlType,
  PROCTIME: { name: 'TIMESTAMP', proctime: true } as SqlType,
};

const NAMES: Record<string, SqlType> = {
  BIGINT: T.BIGINT,
  INT: T.INT,
  INTEGER: T.INT,
  SMALLINT: T.INT,
  TINYINT: T.INT,
  DOUBLE: T.DOUBLE,
  FLOAT: T.DOUBLE,
  REAL: T.DOUBLE,
  DECIMAL: T.DECIMAL,
  DEC: T.DECIMAL,
  NUMERIC: T.DECIMAL,
  VARCHAR: T.VARCHAR,
  STRING: T.VARCHAR,
  CHAR: T.VARCHAR,
  BOOLEAN: T.BOOLEAN,
  BOOL: T.BOOLEAN,
  TIMESTAMP: T.TIMESTAMP,
  DATE: T.TIMESTAMP,
};

/** The type a DDL type names. */
export function resolveType(ref: TypeRef): SqlType {
  // Flink: DECIMAL is DECIMAL(10, 0), DECIMAL(p) is DECIMAL(p, 0); precision 1 … 38, scale 0 … p.
  if (ref.name === 'DECIMAL' || ref.name === 'DEC' || ref.name === 'NUMERIC') {
    const [precision = 10, scale = 0] = ref.params ?? [];
    if (!(precision >= 1 && precision <= 38) || !(scale >= 0 && scale <= precision))
      throw sqlError(ref.pos, `DECIMAL(${precision}, ${scale}): the precision must be 1 to 38 and the scale 0 to the precision`);
    return { name: 'DECIMAL', precision, scale };
  }
  if (ref.name === 'ROW') return { name: 'ROW', fields: ref.fields!.map((f) => ({ name: f.name, type: resolveType(f.type) })) };
  const t = NAMES[ref.name];
  if (t !== undefined) return t;
  if (['ARRAY', 'MAP', 'MULTISET', 'BYTES', 'BINARY', 'VARBINARY', 'TIME', 'RAW'].includes(ref.name))
    throw sqlUnsupported(ref.pos, `the type ${ref.name}`);
  throw sqlError(
    ref.pos,
    `unknown type ${ref.name} (expected BIGINT, INT, DOUBLE, DECIMAL, VARCHAR, STRING, BOOLEAN, TIMESTAMP or ROW<…>)`,
  );
}

/** True for the numeric types. */
export function isNumeric(t: SqlType): boolean {
  return t.name === 'BIGINT' || t.name === 'INT' || t.name === 'DOUBLE' || t.name === 'DECIMAL' || t.name === 'NULL';
}

/** True for BIGINT and INT (integer arithmetic truncates, as Flink's). */
export function isInteger(t: SqlType): boolean {
  return t.name === 'BIGINT' || t.name === 'INT';
}

/** The result of arithmetic on two numeric types (the wider one). */
export function widen(a: SqlType, b: SqlType): SqlType {
  if (a.name === 'NULL') return b;
  if (b.name === 'NULL') return a;
  if (a.name === 'DOUBLE' || b.name === 'DOUBLE') return T.DOUBLE;
  if (a.name === 'DECIMAL' || b.name === 'DECIMAL') return T.DECIMAL;
  if (a.name === 'BIGINT' || b.name === 'BIGINT') return T.BIGINT;
  return T.INT;
}

/** Whether values of a and b can be compared (numbers with numbers, strings with strings, …). */
export function comparable(a: SqlType, b: SqlType): boolean {
  if (a.name === 'NULL' || b.name === 'NULL') return true;
  if (isNumeric(a) && isNumeric(b)) return true;
  return a.name === b.name && a.name !== 'ROW';
}

/** The type as Flink prints it. */
export function typeName(t: SqlType): string {
  if (t.name === 'ROW') return `ROW<${t.fields!.map((f) => `${f.name} ${typeName(f.type)}`).join(', ')}>`;
  if (t.name === 'TIMESTAMP') return t.proctime ? 'TIMESTAMP_LTZ(3) *PROCTIME*' : 'TIMESTAMP(3)';
  if (t.name === 'DECIMAL' && t.scale !== undefined) return `DECIMAL(${t.precision}, ${t.scale})`;
  return t.name;
}

/** A value read from a file or a generator, as the column's type represents it. */
export function coerce(value: unknown, t: SqlType): unknown {
  if (value === undefined || value === null) return null;
  switch (t.name) {
    case 'BIGINT':
    case 'INT':
    case 'DOUBLE':
      return typeof value === 'number' ? value : Number(value);
    case 'DECIMAL':
      // Read as Flink's formats do: rounded HALF_UP to the scale, NULL past the precision.
      return t.scale === undefined ? (typeof value === 'number' ? value : Number(value)) : castOf(t)(value);
    case 'VARCHAR':
      return typeof value === 'string' ? value : String(value);
    case 'BOOLEAN':
      return typeof value === 'boolean' ? value : value === 'true' || value === 1;
    case 'TIMESTAMP':
      return toMillis(value);
    case 'ROW': {
      if (typeof value !== 'object') return null;
      const src = value as Record<string, unknown>;
      const out: Record<string, unknown> = {};
      for (const f of t.fields!) out[f.name] = coerce(src[f.name], f.type);
      return out;
    }
    default:
      return value;
  }
}

const casts = new WeakMap<SqlType, (v: unknown) => unknown>();
function castOf(t: SqlType): (v: unknown) => unknown {
  return casts.get(t) ?? casts.set(t, decimalCast(t.precision!, t.scale!)).get(t)!;
}

/** ms since the epoch from a number or a 'yyyy-MM-dd HH:mm:ss[.SSS]' / ISO string (UTC). */
export function toMillis(value: unknown): number | null {
  if (typeof value === 'number') return value;
  if (typeof value !== 'string') return null;
  if (/^-?[0-9]+$/.test(value)) return Number(value);
  const iso = value.includes('T') ? value : value.replace(' ', 'T');
  const ms = Date.parse(/[zZ]|[+-][0-9]{2}:?[0-9]{2}$/.test(iso) ? iso : `${iso}${iso.length > 10 ? '' : 'T00:00:00'}Z`);
  return Number.isNaN(ms) ? null : ms;
}
