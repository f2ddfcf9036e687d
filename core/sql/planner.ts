/**
 * Plans a query onto the DataStream graph: FROM (tables, views, subqueries, window TVFs,
 * joins), WHERE, aggregation, projection and UNION ALL. Each step adds ordinary DataStream
 * operators with uids from the statement (uids.ts); aggregation and joins are in their own
 * modules.
 */
import type { StreamExecutionEnvironment } from '../api/environment.js';
import { WatermarkStrategy } from '../time/watermark-strategy.js';
import type { DataStream } from '../api/datastream.js';
import type { Expr, FromItem, Query, Select, SelectItem } from './ast.js';
import type { Catalog, TableDef } from './catalog.js';
import { tableSource } from './connectors.js';
import { sqlError, sqlUnsupported } from './errors.js';
import { AGGREGATES, compile, type Compiled, type ExprScope, type Row } from './expressions.js';
import type { BundleTrigger } from '../operators/keyed-bundle.js';
import type { AnyStream, Rel } from './relation.js';
import { exprKey, resolveRef, type Field } from './scope.js';
import { generated } from './codegen.js';
import { columnFn, rowBuilder } from './row-builder.js';
import { comparable, isNumeric, T, typeName, widen, type SqlType } from './types.js';
import type { UidNamer } from './uids.js';
import { planAggregate } from './aggregate.js';
import { planJoin } from './join.js';
import { legacyGroupWindow } from './legacy-windows.js';
import { materializeWindows, planWindowTvf } from './window-tvf.js';
import { planTopN, topNPattern } from './top-n.js';
import type { ChangeRow } from './runtime/changelog.js';
import { record } from './lineage.js';
import { calcOf, memoized, type Calc, type Memo, pendingCalc, pendingRel, relProps, withColumns, withCondition } from './calc.js';

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
}

/** How EXPLAIN says an updating operator runs in mini-batches ('' when mini-batch is off). */
export function miniBatchNote(ctx: PlanContext): string {
  const m = ctx.miniBatch;
  return m === undefined ? '' : `, mini-batch ${m.latencyMs} ms / ${m.size} rows`;
}

/** Plans a query. */
export function planQuery(q: Query, ctx: PlanContext): Rel {
  if (q.k === 'union') return planUnion(q, ctx);
  return planSelect(q, ctx);
}

function planSelect(s: Select, ctx: PlanContext): Rel {
  if (!s.from) throw sqlUnsupported(s.pos, 'SELECT without FROM');
  const topN = topNPattern(s);
  if (topN) return planTopN(topN, s, ctx);
  let rel = planFromWhere(s.from, s.where, ctx, [s.items, s.groupBy, s.having]);
  const hasAgg = s.groupBy.length > 0 || s.items.some((i) => containsAggregate(i.e)) || (s.having !== undefined);
  const legacy = legacyGroupWindow(s, rel, ctx);
  if (legacy) return planAggregate(legacy.s, legacy.rel, ctx);
  if (hasAgg) return planAggregate(s, rel, ctx);
  rel = materializeWindows(rel, ctx, s.pos);
  if (s.distinct) return planAggregate({ ...s, groupBy: s.items.map((i) => i.e), distinct: false }, rel, ctx);
  return project(rel, s.items, ctx);
}

/** True when `e` calls an aggregate function (outside OVER). */
export function containsAggregate(e: Expr): boolean {
  switch (e.k) {
    case 'call':
      return (AGGREGATES.has(e.name) && e.over === undefined) || e.args.some(containsAggregate);
    case 'unary':
      return containsAggregate(e.e);
    case 'binary':
      return containsAggregate(e.l) || containsAggregate(e.r);
    case 'between':
      return containsAggregate(e.e) || containsAggregate(e.lo) || containsAggregate(e.hi);
    case 'in':
      return containsAggregate(e.e) || e.list.some(containsAggregate);
    case 'like':
      return containsAggregate(e.e) || containsAggregate(e.pattern);
    case 'isnull':
    case 'cast':
    case 'extract':
      return containsAggregate(e.e);
    case 'case':
      return (e.operand !== undefined && containsAggregate(e.operand)) || e.whens.some(([a, b]) => containsAggregate(a) || containsAggregate(b)) || (e.otherwise !== undefined && containsAggregate(e.otherwise));
    default:
      return false;
  }
}

/**
 * Plans a FROM item; `where` is passed to comma joins, whose conditions are in WHERE, and
 * `reads` (the expressions of the query over it) lets a join prune its sides' columns.
 */
export function planFrom(f: FromItem, ctx: PlanContext, where?: Expr, reads?: readonly unknown[]): Rel {
  switch (f.k) {
    case 'table':
      return qualify(scanNamed(f.name, f.pos, ctx), f.alias ?? f.name);
    case 'sub': {
      const rel = planQuery(f.q, ctx);
      return f.alias ? qualify(rel, f.alias) : rel;
    }
    case 'tvf': {
      const input = planFrom(f.tvf.input, ctx);
      const rel = planWindowTvf(f.tvf, input, ctx);
      return f.alias ? qualify(rel, f.alias) : rel;
    }
    case 'join':
      return planJoin(f, ctx, where, reads);
  }
}

/** FROM and its WHERE; over a join, planJoin applies the WHERE (pushing what it can below the join). */
export function planFromWhere(from: FromItem, where: Expr | undefined, ctx: PlanContext, reads?: readonly unknown[]): Rel {
  const rel = planFrom(from, ctx, where, reads);
  return where !== undefined && from.k !== 'join' ? filter(rel, where, ctx) : rel;
}

/** The relation of a table or view name (a table scanned once per statement). */
function scanNamed(name: string, pos: { line: number; col: number }, ctx: PlanContext): Rel {
  const found = ctx.catalog.lookup(name);
  if (!found) throw sqlError(pos, `table or view '${name}' not found (${ctx.catalog.known()})`);
  const cacheKey = name.toLowerCase();
  const cached = ctx.scans.get(cacheKey);
  if (cached) return cached;
  let rel: Rel;
  if ('view' in found) {
    if (ctx.expanding.has(cacheKey)) throw sqlError(pos, `view '${name}' reads itself`);
    ctx.expanding.add(cacheKey);
    try {
      rel = planQuery(found.view.q, ctx);
    } finally {
      ctx.expanding.delete(cacheKey);
    }
  } else rel = scan(found.table, pos, ctx);
  ctx.scans.set(cacheKey, rel);
  return rel;
}

/** Physical columns from the connector, then computed columns; event time from WATERMARK FOR. */
function scan(t: TableDef, pos: { line: number; col: number }, ctx: PlanContext): Rel {
  const { source, toRow } = tableSource(t, pos);
  const physical: Field[] = t.columns.filter((c) => !c.computed).map((c) => ({ name: c.name, key: c.name, type: c.type }));
  const computed = t.columns.filter((c) => c.computed).map((c) => ({ name: c.name, key: c.name, fn: compile(c.computed!, { fields: physical }) }));
  let strategy: WatermarkStrategy<unknown> | undefined;
  if (t.watermark) {
    const wm = t.watermark;
    const isComputed = computed.find((c) => c.name === wm.col);
    const convert = toRow;
    // Generated (codegen.ts): the Nexmark rowtime CASE runs for every event in the source's loop.
    const rt = isComputed ? generated(isComputed.fn.fn) : (r: Row) => r[wm.col];
    strategy = WatermarkStrategy.forBoundedOutOfOrderness<unknown>(wm.delayMs).withTimestampAssigner((raw) => {
      const v = rt(convert ? convert(raw) : (raw as Row));
      return typeof v === 'number' ? v : Number.NaN;
    });
  }
  const sourceUid = ctx.uids.next('source', `${t.options.connector} table ${t.name}${t.watermark ? `, watermark ${t.watermark.col} - ${t.watermark.delayMs} ms` : ''}`);
  const source$: AnyStream = ctx.env.fromSource(source, `sql:${t.name}`, strategy).uid(sourceUid);
  const fields = [...physical, ...computed.map((c) => ({ name: c.name, key: c.key, type: t.columns.find((x) => x.name === c.name)!.type }))];
  const props = { fields, updating: false, rowtime: t.watermark?.col };
  if (!toRow && computed.length === 0) return { stream: source$, ...props };
  const fns = computed.map((c) => [c.name, c.fn.fn] as const);
  const detail = `${t.name}${computed.length ? ` + computed ${computed.map((c) => c.name).join(', ')}` : ''}`;
  // Records straight from a generator (nexmark, datagen) or from toRow are fresh objects:
  // computed columns are added in place rather than by a copy per record.
  const inPlace = (): AnyStream =>
    source$
      .map((raw: unknown) => {
        const row = toRow ? toRow(raw) : (raw as Row);
        for (const [name, fn] of fns) row[name] = fn(row);
        return row;
      })
      .uid(ctx.uids.next('calc', `row of ${detail}`))
      .name(`sql:scan ${t.name}`);
  if (toRow) return { stream: inPlace(), ...props };
  // Rows are the generator's records: computed columns stay pending, so a WHERE and SELECT
  // over the table fuse with them into one operator (and an unused one is never computed).
  const memos: Memo[] = [];
  const columns = [...physical.map((f) => [f.key]), ...computed.map((c) => memoized(c.fn.fn, memos))];
  // The rowtime column is what the timestamp assigner computed: the calc reads the record's timestamp.
  const rowtime = computed.findIndex((c) => c.name === t.watermark?.col);
  const stamped = rowtime < 0 ? undefined : memos[rowtime];
  return pendingRel(props, { input: source$, updating: false, conds: [], columns, memos, stamped, detail: [`scan ${detail}`], direct: inPlace, uids: ctx.uids });
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
  if (c.type.name !== 'BOOLEAN' && c.type.name !== 'NULL') throw sqlError(cond.pos, `WHERE expects a BOOLEAN condition, got ${typeName(c.type)}`);
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
      for (const f of fields) out.push({ name: f.name, e: { k: 'ref', parts: f.qual ? [f.qual, f.name] : [f.name], pos: it.e.pos }, c: { fn: f.get ?? columnFn([f.key]), type: f.type } });
      return;
    }
    const name = it.alias ?? (it.e.k === 'ref' ? it.e.parts[it.e.parts.length - 1]! : `EXPR$${i}`);
    out.push({ name, e: it.e, c: compile(it.e, scope) });
  });
  return out;
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
  const identity = scope.computed === undefined && list.length === rel.fields.length && source.every((s, i) => s === rel.fields[i]!.key && s === keys[i]);
  const window = rel.window ? { ...rel.window, startKey: renamed(rel.window.startKey) ?? '', endKey: renamed(rel.window.endKey) ?? '' } : undefined;
  const props: Omit<Rel, 'stream'> = {
    fields,
    updating: rel.updating,
    updateReason: rel.updateReason,
    rowtime: renamed(rel.rowtime),
    aheadOfWatermark: rel.aheadOfWatermark && Object.fromEntries(Object.entries(rel.aheadOfWatermark).flatMap(([k, g]) => (renamed(k) === undefined ? [] : [[renamed(k)!, g]]))),
    window: window && window.startKey && window.endKey ? window : undefined,
    uniqueKey: rel.uniqueKey && rel.uniqueKey.every((k) => renamed(k)) ? rel.uniqueKey.map((k) => renamed(k)!) : undefined,
  };
  if (having) return pendingRel(props, withColumns(having, list.map((l) => l.c.fn), having.memos, `project ${keys.join(', ')}`));
  if (fused) {
    const { calc } = fused;
    if (identity) return pendingCalc(rel) ? pendingRel(props, calc) : { stream: rel.stream, ...props };
    // A computed column is memoized: a later WHERE and SELECT over it evaluate it once per row.
    const memos = [...calc.memos];
    const columns = list.map((l) => (l.e.k === 'ref' ? readOf(l.e, fused.fields) ?? l.c.fn : memoized(l.c.fn, memos)));
    return pendingRel(props, withColumns(calc, columns, memos, `project ${keys.join(', ')}`));
  }
  if (identity) return { stream: rel.stream, ...props };
  const proj = rowBuilder(keys, list.map((l) => l.c.fn));
  const uid = ctx.uids.next('calc', `project ${keys.join(', ')}`);
  const stream = (rel.updating
    ? (rel.stream as DataStream<ChangeRow>).map((c): ChangeRow => ({ kind: c.kind, row: proj(c.row) }))
    : (rel.stream as DataStream<Row>).map(proj)
  ).uid(uid).name('sql:project');
  if (!rel.updating) record(stream, { k: 'calc', input: rel.stream, apply: proj, copyOf: (key) => source[keys.indexOf(key)], filters: false });
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
    const f = scope.fields.filter((x) => x.name.toLowerCase() === e.parts[e.parts.length - 1]!.toLowerCase() && (e.parts.length === 1 || x.qual?.toLowerCase() === e.parts[0]!.toLowerCase()));
    return f.length === 1 ? f[0]!.key : undefined;
  } catch {
    return undefined;
  }
}

function planUnion(q: Query & { k: 'union' }, ctx: PlanContext): Rel {
  if (!q.all) throw sqlUnsupported(q.pos, 'UNION without ALL (UNION DISTINCT); write UNION ALL, or SELECT DISTINCT over it');
  const l = planQuery(q.l, ctx);
  const r = planQuery(q.r, ctx);
  if (l.fields.length !== r.fields.length) throw sqlError(q.pos, `UNION ALL sides have ${l.fields.length} and ${r.fields.length} columns; they must have the same number`);
  const types: SqlType[] = l.fields.map((f, i) => {
    const rt = r.fields[i]!.type;
    if (!comparable(f.type, rt) || f.type.name === 'ROW') throw sqlError(q.pos, `UNION ALL column ${i + 1} ('${f.name}') is ${typeName(f.type)} on the left and ${typeName(rt)} on the right`);
    return isNumeric(f.type) ? widen(f.type, rt) : f.type.name === 'NULL' ? rt : f.type;
  });
  const fields: Field[] = l.fields.map((f, i) => ({ name: f.name, key: f.key, type: types[i]! }));
  const rekey = (rel: Rel): AnyStream => {
    if (rel.fields.every((f, i) => f.key === fields[i]!.key)) return rel.stream;
    const from = rel.fields.map((f) => f.key);
    const to = fields.map((f) => f.key);
    const m = rowBuilder(to, from.map((k) => (row: Row) => row[k]));
    const uid = ctx.uids.next('calc', `union column names`);
    return (rel.updating ? (rel.stream as DataStream<ChangeRow>).map((c): ChangeRow => ({ kind: c.kind, row: m(c.row) })) : (rel.stream as DataStream<Row>).map(m)).uid(uid);
  };
  const updating = l.updating || r.updating;
  const asChanges = (rel: Rel, s: AnyStream): AnyStream =>
    updating && !rel.updating ? (s as DataStream<Row>).map((row): ChangeRow => ({ kind: '+I', row })).uid(ctx.uids.next('calc', 'rows as +I changes')) : s;
  const ls = asChanges(l, rekey(l));
  const rs = asChanges(r, rekey(r));
  const lIdx = l.rowtime === undefined ? -1 : l.fields.findIndex((f) => f.key === l.rowtime);
  const rIdx = r.rowtime === undefined ? -1 : r.fields.findIndex((f) => f.key === r.rowtime);
  ctx.uids.next('union', `union all of ${fields.length} columns`);
  return { stream: ls.union(rs), fields, updating, updateReason: l.updateReason ?? r.updateReason, rowtime: lIdx >= 0 && lIdx === rIdx ? fields[lIdx]!.key : undefined };
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

export { T };
