/**
 * Plans a query onto the DataStream graph: FROM (tables, views, subqueries, window TVFs,
 * joins), WHERE, aggregation, projection and UNION ALL. Each step adds ordinary DataStream
 * operators with uids from the statement (uids.ts); aggregation, joins and Top-N are in their
 * own modules, and the steps all of them share (filter, projection, FROM with WHERE) in
 * plan-steps.ts, below them: this module hands them its planFrom through the plan context.
 */
import { WatermarkStrategy } from '../time/watermark-strategy.js';
import type { DataStream } from '../api/datastream.js';
import type { Expr, FromItem, Query, Select } from './ast.js';
import type { TableDef } from './catalog.js';
import { tableSource } from './connectors.js';
import { sqlError, sqlUnsupported } from './errors.js';
import { AGGREGATES, compile, type Row } from './expressions.js';
import type { AnyStream, Rel } from './relation.js';
import type { Field } from './scope.js';
import { generated } from './codegen.js';
import { rowBuilder } from './row-builder.js';
import { comparable, isNumeric, T, typeName, widen, type SqlType } from './types.js';
import { planAggregate } from './aggregate.js';
import { planJoin } from './join.js';
import { legacyGroupWindow } from './legacy-windows.js';
import { materializeWindows, planWindowTvf } from './window-tvf.js';
import { planTopN, topNPattern } from './top-n.js';
import type { ChangeRow } from './runtime/changelog.js';
import { memoized, type Memo, pendingRel } from './calc.js';
import { planFromWhere, project, qualify, type PlanContext } from './plan-steps.js';

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
  const hasAgg = s.groupBy.length > 0 || s.items.some((i) => containsAggregate(i.e)) || s.having !== undefined;
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
      return (
        (e.operand !== undefined && containsAggregate(e.operand)) ||
        e.whens.some(([a, b]) => containsAggregate(a) || containsAggregate(b)) ||
        (e.otherwise !== undefined && containsAggregate(e.otherwise))
      );
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
  const computed = t.columns
    .filter((c) => c.computed)
    .map((c) => ({ name: c.name, key: c.name, fn: compile(c.computed!, { fields: physical }) }));
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
  const sourceUid = ctx.uids.next(
    'source',
    `${t.options.connector} table ${t.name}${t.watermark ? `, watermark ${t.watermark.col} - ${t.watermark.delayMs} ms` : ''}`,
  );
  const source$: AnyStream = ctx.env.fromSource(source, `sql:${t.name}`, strategy).uid(sourceUid);
  const fields = [
    ...physical,
    ...computed.map((c) => ({ name: c.name, key: c.key, type: t.columns.find((x) => x.name === c.name)!.type })),
  ];
  const props = { fields, updating: false, rowtime: t.watermark?.col };
  if (!toRow && computed.length === 0) return { stream: source$, ...props };
  const fns = computed.map((c) => [c.name, c.fn.fn] as const);
  const detail = `${t.name}${computed.length ? ` + computed ${computed.map((c) => c.name).join(', ')}` : ''}`;
  // Records straight from a generator (nexmark, datagen) or from toRow are fresh objects:
  // computed columns are added in place rather than by a copy per record. The generator's
  // record is the source's output, which its other consumers see too: such a scan is chained
  // only as the source's one consumer (mutatesInput).
  const inPlace = (): AnyStream => {
    const scan = source$
      .map((raw: unknown) => {
        const row = toRow ? toRow(raw) : (raw as Row);
        for (const [name, fn] of fns) row[name] = fn(row);
        return row;
      })
      .uid(ctx.uids.next('calc', `row of ${detail}`))
      .name(`sql:scan ${t.name}`);
    scan.node.mutatesInput = toRow === undefined;
    return scan;
  };
  if (toRow) return { stream: inPlace(), ...props };
  // Rows are the generator's records: computed columns stay pending, so a WHERE and SELECT
  // over the table fuse with them into one operator (and an unused one is never computed).
  const memos: Memo[] = [];
  const columns = [...physical.map((f) => [f.key]), ...computed.map((c) => memoized(c.fn.fn, memos))];
  // The rowtime column is what the timestamp assigner computed: the calc reads the record's timestamp.
  const rowtime = computed.findIndex((c) => c.name === t.watermark?.col);
  const stamped = rowtime < 0 ? undefined : memos[rowtime];
  return pendingRel(props, {
    input: source$,
    updating: false,
    conds: [],
    columns,
    memos,
    stamped,
    detail: [`scan ${detail}`],
    direct: inPlace,
    uids: ctx.uids,
  });
}

function planUnion(q: Query & { k: 'union' }, ctx: PlanContext): Rel {
  if (!q.all) throw sqlUnsupported(q.pos, 'UNION without ALL (UNION DISTINCT); write UNION ALL, or SELECT DISTINCT over it');
  const l = planQuery(q.l, ctx);
  const r = planQuery(q.r, ctx);
  if (l.fields.length !== r.fields.length)
    throw sqlError(q.pos, `UNION ALL sides have ${l.fields.length} and ${r.fields.length} columns; they must have the same number`);
  const types: SqlType[] = l.fields.map((f, i) => {
    const rt = r.fields[i]!.type;
    if (!comparable(f.type, rt) || f.type.name === 'ROW')
      throw sqlError(q.pos, `UNION ALL column ${i + 1} ('${f.name}') is ${typeName(f.type)} on the left and ${typeName(rt)} on the right`);
    return isNumeric(f.type) ? widen(f.type, rt) : f.type.name === 'NULL' ? rt : f.type;
  });
  const fields: Field[] = l.fields.map((f, i) => ({ name: f.name, key: f.key, type: types[i]! }));
  const rekey = (rel: Rel): AnyStream => {
    if (rel.fields.every((f, i) => f.key === fields[i]!.key)) return rel.stream;
    const from = rel.fields.map((f) => f.key);
    const to = fields.map((f) => f.key);
    const m = rowBuilder(
      to,
      from.map((k) => (row: Row) => row[k]),
    );
    const uid = ctx.uids.next('calc', `union column names`);
    return (
      rel.updating
        ? (rel.stream as DataStream<ChangeRow>).map((c): ChangeRow => ({ kind: c.kind, row: m(c.row) }))
        : (rel.stream as DataStream<Row>).map(m)
    ).uid(uid);
  };
  const updating = l.updating || r.updating;
  const asChanges = (rel: Rel, s: AnyStream): AnyStream =>
    updating && !rel.updating
      ? (s as DataStream<Row>).map((row): ChangeRow => ({ kind: '+I', row })).uid(ctx.uids.next('calc', 'rows as +I changes'))
      : s;
  const ls = asChanges(l, rekey(l));
  const rs = asChanges(r, rekey(r));
  const lIdx = l.rowtime === undefined ? -1 : l.fields.findIndex((f) => f.key === l.rowtime);
  const rIdx = r.rowtime === undefined ? -1 : r.fields.findIndex((f) => f.key === r.rowtime);
  ctx.uids.next('union', `union all of ${fields.length} columns`);
  return {
    stream: ls.union(rs),
    fields,
    updating,
    updateReason: l.updateReason ?? r.updateReason,
    rowtime: lIdx >= 0 && lIdx === rIdx ? fields[lIdx]!.key : undefined,
  };
}

export { T };
