/**
 * What a query's expressions can name: the fields of the relation they run over, each with
 * its qualifier (table name or alias), its property in the runtime row and its type.
 */
import type { Expr } from './ast.js';
import type { EddyError } from '../failure.js';
import { sqlError } from './errors.js';
import type { SqlType } from './types.js';

/** A column of a relation during planning; `key` is its property in the runtime row object. */
export interface Field {
  name: string;
  qual?: string;
  key: string;
  type: SqlType;
  /**
   * Set while a filter or projection over this field's relation is pending (calc.ts): the
   * field's value read from the row of the stream under the pending calc, so the next calc
   * composes with it instead of running over a row built for it.
   */
  get?: (row: Record<string, unknown>) => unknown;
}

/** A resolved reference: the row property, the ROW sub-field path under it, and the type. */
export interface Resolved {
  key: string;
  path: string[];
  type: SqlType;
  field: Field;
}

const eq = (a: string | undefined, b: string): boolean => a !== undefined && a.toLowerCase() === b.toLowerCase();

/** The field `parts` names (`col`, `t.col`, `rowcol.field`, `t.rowcol.field`), or an error at `pos`. */
export function resolveRef(fields: readonly Field[], e: Expr & { k: 'ref' }): Resolved {
  const found = resolution(fields, e);
  if (typeof found === 'function') throw found();
  return found;
}

/**
 * The field `e` names, or undefined where resolveRef fails. For the planner's probes (does this
 * reference read this side of a join?), which used to catch resolveRef's error: building it
 * (its message lists the columns, its stack is captured) was about 5 % of planning Nexmark q5.
 */
export function tryResolveRef(fields: readonly Field[], e: Expr & { k: 'ref' }): Resolved | undefined {
  const found = resolution(fields, e);
  return typeof found === 'function' ? undefined : found;
}

/** The column `e` names among `fields` (not a ROW's sub-field), or undefined when it names none. */
export function fieldOf(e: Expr & { k: 'ref' }, rel: { fields: readonly Field[] }): Field | undefined {
  const found = tryResolveRef(rel.fields, e);
  return found !== undefined && found.path.length === 0 ? found.field : undefined;
}

/** What `e` resolves to, or the error saying why it does not (made only when it is thrown). */
function resolution(fields: readonly Field[], e: Expr & { k: 'ref' }): Resolved | (() => EddyError) {
  const [first, ...rest] = e.parts;
  const qualified = rest.length > 0 ? fields.filter((f) => eq(f.qual, first!) && eq(f.name, rest[0]!)) : [];
  if (qualified.length > 0) return nested(unique(qualified, e), rest.slice(1), e);
  const plain = fields.filter((f) => eq(f.name, first!));
  if (plain.length > 0) return nested(unique(plain, e), rest, e);
  if (rest.length > 0 && fields.some((f) => eq(f.qual, first!))) {
    return () => sqlError(e.pos, `column '${rest[0]}' not found in '${first}' (it has ${list(fields.filter((f) => eq(f.qual, first!)))})`);
  }
  return () => sqlError(e.pos, `column '${e.parts.join('.')}' not found (available: ${list(fields)})`);
}

function unique(found: Field[], e: Expr & { k: 'ref' }): Field | (() => EddyError) {
  const keys = new Set(found.map((f) => f.key));
  if (keys.size > 1)
    return () =>
      sqlError(e.pos, `column '${e.parts.join('.')}' is ambiguous (it is in ${found.map((f) => f.qual ?? '?').join(' and ')}); qualify it`);
  return found[0]!;
}

function nested(field: Field | (() => EddyError), path: string[], e: Expr & { k: 'ref' }): Resolved | (() => EddyError) {
  if (typeof field === 'function') return field;
  let type = field.type;
  const names: string[] = [];
  for (const p of path) {
    const sub = type.name === 'ROW' ? type.fields!.find((f) => eq(f.name, p)) : undefined;
    if (sub === undefined) {
      const at = type;
      return () =>
        sqlError(
          e.pos,
          `'${[field.name, ...names].join('.')}' has no field '${p}'${at.name === 'ROW' ? ` (it has ${at.fields!.map((f) => f.name).join(', ')})` : ` (it is ${at.name}, not a ROW)`}`,
        );
    }
    names.push(sub.name);
    type = sub.type;
  }
  return { key: field.key, path: names, type, field };
}

function list(fields: readonly Field[]): string {
  const names = fields.map((f) => (f.qual ? `${f.qual}.${f.name}` : f.name));
  return names.length === 0 ? 'none' : names.slice(0, 20).join(', ') + (names.length > 20 ? ', …' : '');
}

/** An expression's identity without positions: the same text in SELECT and GROUP BY matches. */
export function exprKey(e: Expr): string {
  return JSON.stringify(e, (k, v) => (k === 'pos' ? undefined : typeof v === 'string' && k !== 'value' ? v.toLowerCase() : v));
}
