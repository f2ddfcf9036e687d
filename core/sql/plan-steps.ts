/**
 * The planning steps every part of the planner shares: the plan context, qualifying a
 * relation, WHERE as a filter, the select list and projection, FROM with its WHERE, and the
 * text of an expression for EXPLAIN. Below the planner and its sub-planners (joins,
 * aggregates, Top-N), which all use them; the planner hands its planFrom down in the context.
 */
import type { StreamExecutionEnvironment } from '../api/environment.js';
import type { DataStream } from '../api/datastream.js';
import type { BundleTrigger } from '../operators/keyed-bundle.js';
import type { Expr, FromItem, SelectItem } from './ast.js';
import type { Catalog } from './catalog.js';
import { calcOf, memoized, type Calc, pendingCalc, pendingRel, relProps, withColumns, withCondition } from './calc.js';
import { sqlError } from './errors.js';
import { compile, type Compiled, type ExprScope, type Row } from './expressions.js';
import { record } from './lineage.js';
import type { Rel } from './relation.js';
import { columnFn, rowBuilder } from './row-builder.js';
import { projectedJoin } from './join-projection.js';
import type { ChangeRow } from './runtime/changelog.js';
import { exprKey, resolveRef, type Field } from './scope.js';
import { typeName } from './types.js';
import type { UidNamer } from './uids.js';

/** What planning one statement needs. */
export interface PlanContext {
  env: StreamExecutionEnvironment;
  catalog: Catalog;
  uids: UidNamer;
  /** One source per table per statement: a table read twice (q5's bid) is scanned once. */
  scans: Map<string, Rel>;
  /** Views being expanded, to refuse a view that reads itself. */
  expanding: Set<string>;
  /** Idle-state TTL of changelog operators (SET 'table.exec.state.ttl'). */
  ttlMs?: number;
  /** Mini-batch of the updating operators (SET 'table.exec.mini-batch.*'); undefined: off. */
  miniBatch?: BundleTrigger;
  /**
   * Plans a FROM item (the planner's planFrom). Joins, lookups and Top-N plan their inputs
   * through it, so they need not import the planner that imports them.
   */
  planFrom: FromPlanner;
  /**
   * Rewrites that need every reader of an operator in the graph, run once the statement's sink is
   * connected (runWhenPlanned): join-back.ts narrows a window aggregate's rows only then. Not run
   * for env.sqlQuery, whose relation the caller reads on.
   */
  whenPlanned: Array<() => void>;
}

/** Runs the statement's deferred rewrites (see PlanContext.whenPlanned). */
export function runWhenPlanned(ctx: PlanContext): void {
  for (const f of ctx.whenPlanned.splice(0)) f();
}

/** Plans a FROM item; `where` goes to comma joins, `reads` lets a join prune its sides' columns. */
export type FromPlanner = (f: FromItem, ctx: PlanContext, where?: Expr, reads?: readonly unknown[]) => Rel;

/** How EXPLAIN says an updating operator runs in mini-batches ('' when mini-batch is off). */
export function miniBatchNote(ctx: PlanContext): string {
  const m = ctx.miniBatch;
  return m === undefined ? '' : `, mini-batch ${m.latencyMs} ms / ${m.size} rows`;
}

/** FROM and its WHERE; over a join, planJoin applies the WHERE (pushing what it can below the join). */
export function planFromWhere(from: FromItem, where: Expr | undefined, ctx: PlanContext, reads?: readonly unknown[]): Rel {
  const rel = ctx.planFrom(from, ctx, where, reads);
  return where !== undefined && from.k !== 'join' ? filter(rel, where, ctx) : rel;
}

/** The relation with every field qualified by `alias` (table name or AS alias). */
export function qualify(rel: Rel, alias: string): Rel {
  const fields = rel.fields.map((f) => ({ ...f, qual: alias }));
  const calc = pendingCalc(rel);
  return calc ? pendingRel({ ...relProps(rel), fields }, calc) : { ...rel, fields };
}

/**
 * Rows for which `cond` is TRUE (NULL and FALSE drop the row), composed onto the relation's
 * pending calc. With `scope` (HAVING over an aggregate's computed columns) the condition reads
 * the aggregate's rows: it starts a calc over them, which the select list then joins.
 */
export function filter(rel: Rel, cond: Expr, ctx: PlanContext, scope?: ExprScope): Rel {
  const { calc, fields } = calcOf(rel, ctx.uids);
  const c = condition(cond, scope ?? { fields });
  const next = withCondition(calc, c.fn, exprText(cond));
  if (scope !== undefined) havings.add(next);
  return pendingRel(relProps(rel), next);
}

/** Calcs of a HAVING: their conditions read an aggregate's rows, as its select list does. */
const havings = new WeakSet<Calc>();

function condition(cond: Expr, scope: ExprScope): Compiled {
  const c = compile(cond, scope);
  if (c.type.name !== 'BOOLEAN' && c.type.name !== 'NULL')
    throw sqlError(cond.pos, `WHERE expects a BOOLEAN condition, got ${typeName(c.type)}`);
  return c;
}

/** The select list, with * expanded: output names and compiled expressions. */
export function selectList(items: SelectItem[], scope: ExprScope): Array<{ name: string; e: Expr; c: Compiled }> {
  const out: Array<{ name: string; e: Expr; c: Compiled }> = [];
  items.forEach((it, i) => {
    if (it.e.k === 'star') {
      const qual = it.e.qual;
      const fields = qual === undefined ? scope.fields : scope.fields.filter((f) => f.qual?.toLowerCase() === qual.toLowerCase());
      if (fields.length === 0) throw sqlError(it.e.pos, `'${qual}' names no table in FROM`);
      for (const f of fields)
        out.push({
          name: f.name,
          e: { k: 'ref', parts: f.qual ? [f.qual, f.name] : [f.name], pos: it.e.pos },
          c: { fn: f.get ?? columnFn([f.key]), type: f.type },
        });
      return;
    }
    const name = it.alias ?? (it.e.k === 'ref' ? it.e.parts[it.e.parts.length - 1]! : `EXPR$${i}`);
    out.push({ name, e: it.e, c: compile(it.e, scope) });
  });
  return out;
}

/**
 * The select list as plain copies of the columns under it: the fields it makes and, per output
 * column, `[key, from]` with `from` the row key it copies (a field read as it is, or a computed
 * one of `scope`: an aggregate's, a rank's). Undefined when an item computes anything: an
 * operator that builds its own output row can then build this one, and no calc copies it.
 */
export function copiedColumns(items: SelectItem[], scope: ExprScope): { fields: Field[]; columns: Array<[string, string]> } | undefined {
  const list = selectList(items, scope);
  const from = list.map((l) => scope.computed?.get(exprKey(l.e))?.key ?? (l.e.k === 'ref' ? plainKey(l.e, scope.fields) : undefined));
  if (from.some((k) => k === undefined)) return undefined;
  const keys = uniqueKeys(list.map((l) => l.name));
  return {
    fields: keys.map((k, i) => ({ name: k, key: k, type: list[i]!.c.type })),
    columns: keys.map((k, i) => [k, from[i]!]),
  };
}

/** The key of the field a reference reads as it is (not a sub-field, not an accessor). */
function plainKey(e: Expr & { k: 'ref' }, fields: readonly Field[]): string | undefined {
  const r = resolveRef(fields, e);
  return r.path.length === 0 && r.field.get === undefined ? r.key : undefined;
}

/** Unique row keys for output names (Calcite's rule: a repeated name gets 0, 1, … appended). */
export function uniqueKeys(names: string[]): string[] {
  const seen = new Set<string>();
  return names.map((n) => {
    let k = n;
    for (let i = 0; seen.has(k.toLowerCase()); i++) k = `${n}${i}`;
    seen.add(k.toLowerCase());
    return k;
  });
}

/** The projection of `items` over `rel` (skipped when it changes nothing). */
export function project(rel: Rel, items: SelectItem[], ctx: PlanContext, given?: ExprScope): Rel {
  const scope: ExprScope = given ?? { fields: rel.fields };
  // Without an aggregate's computed columns the projection composes onto the pending calc;
  // with them, onto a HAVING's calc (which reads the aggregate's rows, as the select list does).
  const pending = given !== undefined ? pendingCalc(rel) : undefined;
  const having = pending !== undefined && havings.has(pending) ? pending : undefined;
  const fused = given === undefined ? calcOf(rel, ctx.uids) : undefined;
  const list = selectList(items, fused ? { fields: fused.fields } : scope);
  const keys = uniqueKeys(list.map((l) => l.name));
  const fields: Field[] = list.map((l, i) => ({ name: keys[i]!, key: keys[i]!, type: l.c.type }));
  // Which input field each output is a plain copy of (for the time attribute and window columns; an aggregate call, its column).
  const source = list.map((l) => (l.e.k === 'ref' ? scopeKey(l.e, scope) : scope.computed?.get(exprKey(l.e))?.key));
  const renamed = (key: string | undefined): string | undefined => {
    if (key === undefined) return undefined;
    const i = source.indexOf(key);
    return i < 0 ? undefined : keys[i];
  };
  const identity =
    scope.computed === undefined && list.length === rel.fields.length && source.every((s, i) => s === rel.fields[i]!.key && s === keys[i]);
  const window = rel.window
    ? { ...rel.window, startKey: renamed(rel.window.startKey) ?? '', endKey: renamed(rel.window.endKey) ?? '' }
    : undefined;
  const props: Omit<Rel, 'stream'> = {
    fields,
    updating: rel.updating,
    updateReason: rel.updateReason,
    rowtime: renamed(rel.rowtime),
    aheadOfWatermark:
      rel.aheadOfWatermark &&
      Object.fromEntries(Object.entries(rel.aheadOfWatermark).flatMap(([k, g]) => (renamed(k) === undefined ? [] : [[renamed(k)!, g]]))),
    window: window && window.startKey && window.endKey ? window : undefined,
    uniqueKey: rel.uniqueKey && rel.uniqueKey.every((k) => renamed(k)) ? rel.uniqueKey.map((k) => renamed(k)!) : undefined,
  };
  if (having)
    return pendingRel(
      props,
      withColumns(
        having,
        list.map((l) => l.c.fn),
        having.memos,
        `project ${keys.join(', ')}`,
      ),
    );
  if (fused) {
    const { calc } = fused;
    if (identity) return pendingCalc(rel) ? pendingRel(props, calc) : { stream: rel.stream, ...props };
    // A computed column is memoized: a later WHERE and SELECT over it evaluate it once per row.
    const memos = [...calc.memos];
    const columns = list.map((l) => (l.e.k === 'ref' ? (readOf(l.e, fused.fields) ?? l.c.fn) : memoized(l.c.fn, memos)));
    const joined = pendingCalc(rel) === undefined ? projectedJoin(rel, keys, columns, `project ${keys.join(', ')}`) : undefined;
    if (joined !== undefined) return { stream: joined, ...props };
    return pendingRel(props, withColumns(calc, columns, memos, `project ${keys.join(', ')}`));
  }
  if (identity) return { stream: rel.stream, ...props };
  const proj = rowBuilder(
    keys,
    list.map((l) => l.c.fn),
  );
  const uid = ctx.uids.next('calc', `project ${keys.join(', ')}`);
  const stream = (
    rel.updating
      ? (rel.stream as DataStream<ChangeRow>).map((c): ChangeRow => ({ kind: c.kind, row: proj(c.row) }))
      : (rel.stream as DataStream<Row>).map(proj)
  )
    .uid(uid)
    .name('sql:project');
  if (!rel.updating)
    record(stream, { k: 'calc', input: rel.stream, apply: proj, copyOf: (key) => source[keys.indexOf(key)], filters: false, keys });
  return { stream, ...props };
}

/** A reference to a plain input field (or a ROW field's sub-field) as the path it reads; undefined for an accessor. */
function readOf(e: Expr & { k: 'ref' }, fields: readonly Field[]): string[] | undefined {
  const r = resolveRef(fields, e);
  return r.field.get === undefined ? [r.key, ...r.path] : undefined;
}

function scopeKey(e: Expr & { k: 'ref' }, scope: ExprScope): string | undefined {
  const pre = scope.computed?.get(exprKey(e));
  if (pre) return pre.key;
  try {
    const c = compile(e, { fields: scope.fields });
    void c;
    const f = scope.fields.filter(
      (x) =>
        x.name.toLowerCase() === e.parts[e.parts.length - 1]!.toLowerCase() &&
        (e.parts.length === 1 || x.qual?.toLowerCase() === e.parts[0]!.toLowerCase()),
    );
    return f.length === 1 ? f[0]!.key : undefined;
  } catch {
    return undefined;
  }
}

/** A short text of an expression for EXPLAIN. */
export function exprText(e: Expr): string {
  switch (e.k) {
    case 'lit':
      return typeof e.value === 'string' ? `'${e.value}'` : String(e.value);
    case 'interval':
      return `INTERVAL ${e.ms} ms`;
    case 'ref':
      return e.parts.join('.');
    case 'star':
      return e.qual ? `${e.qual}.*` : '*';
    case 'unary':
      return `${e.op === 'NOT' ? 'NOT ' : '-'}${exprText(e.e)}`;
    case 'binary':
      return `(${exprText(e.l)} ${e.op} ${exprText(e.r)})`;
    case 'between':
      return `${exprText(e.e)}${e.not ? ' NOT' : ''} BETWEEN ${exprText(e.lo)} AND ${exprText(e.hi)}`;
    case 'in':
      return `${exprText(e.e)}${e.not ? ' NOT' : ''} IN (${e.list.map(exprText).join(', ')})`;
    case 'like':
      return `${exprText(e.e)}${e.not ? ' NOT' : ''} LIKE ${exprText(e.pattern)}`;
    case 'isnull':
      return `${exprText(e.e)} IS ${e.not ? 'NOT ' : ''}NULL`;
    case 'case':
      return 'CASE …';
    case 'cast':
      return `CAST(${exprText(e.e)} AS ${e.type.name})`;
    case 'extract':
      return `EXTRACT(${e.unit} FROM ${exprText(e.e)})`;
    case 'call':
      return `${e.name}(${e.distinct ? 'DISTINCT ' : ''}${e.star ? '*' : e.args.map(exprText).join(', ')})${e.filter ? ` FILTER (WHERE ${exprText(e.filter)})` : ''}`;
  }
}
