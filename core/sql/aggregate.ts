/**
 * Aggregation. Over a window TVF grouped by window_start and window_end it is a window
 * operator of the engine (keyBy + window(assigner) + aggregate, sliced for TUMBLE and HOP);
 * without a window it is sqlchange's groupAggregate, whose output is a changelog.
 */
import type { DataStream } from '../api/datastream.js';
import type { AggregateFunction } from '../contract/state.js';
import type { WindowContext } from '../operators/window.js';
import type { Expr, Select } from './ast.js';
import { sqlError, sqlUnsupported } from './errors.js';
import { AGGREGATES, compile, type Compiled, type Row } from './expressions.js';
import { copiedColumns, filter, miniBatchNote, project, type PlanContext } from './plan-steps.js';
import type { AnyStream, Rel } from './relation.js';
import { appendOnlyGroupAggregate, groupAggregate, type AggregateKind, type AggregateSpec, type ChangeRow } from './runtime/index.js';
import { exprKey, resolveRef, tryResolveRef, type Field } from './scope.js';
import { isNumeric, T, typeName, type SqlType } from './types.js';
import { assignerOf } from './window-tvf.js';
import { asDecimal, avgType, decimalSum, sumType, type DecimalSum } from './decimal.js';
import { calcOf, memoized, narrowed, pendingCalc, pendingRel, relProps, withColumns } from './calc.js';
import { TumblingEventTimeWindows } from '../api/windows.js';
import { keySelector, NULL_KEY } from './keys.js';
import { columnFn, type ColumnFn } from './row-builder.js';
import { Binder } from './codegen.js';
import { addStep } from './window-add.js';
import { isDropped, record } from './lineage.js';

/** One aggregate call of the query. */
interface AggCall {
  e: Expr & { k: 'call' };
  kind: AggregateKind;
  arg?: Compiled;
  filter?: (row: Row) => boolean;
  type: SqlType;
  key: string;
  /** SUM/AVG over a DECIMAL of known scale: the exact sum (decimal.ts). */
  dec?: DecimalSum;
}

/** The aggregate calls in `e` (outside OVER), in order of appearance. */
function collect(e: Expr, into: Array<Expr & { k: 'call' }>): void {
  switch (e.k) {
    case 'call':
      if (AGGREGATES.has(e.name) && e.over === undefined) {
        into.push(e);
        return;
      }
      e.args.forEach((a) => collect(a, into));
      return;
    case 'unary':
    case 'isnull':
    case 'cast':
    case 'extract':
      collect(e.e, into);
      return;
    case 'binary':
      collect(e.l, into);
      collect(e.r, into);
      return;
    case 'between':
      [e.e, e.lo, e.hi].forEach((x) => collect(x, into));
      return;
    case 'in':
      [e.e, ...e.list].forEach((x) => collect(x, into));
      return;
    case 'like':
      collect(e.e, into);
      collect(e.pattern, into);
      return;
    case 'case':
      if (e.operand) collect(e.operand, into);
      e.whens.forEach(([a, b]) => (collect(a, into), collect(b, into)));
      if (e.otherwise) collect(e.otherwise, into);
      return;
    default:
      return;
  }
}

function aggCall(e: Expr & { k: 'call' }, i: number, fields: readonly Field[]): AggCall {
  const scope = { fields };
  let cond: ((row: Row) => boolean) | undefined;
  if (e.filter) {
    const c = compile(e.filter, scope);
    if (c.type.name !== 'BOOLEAN') throw sqlError(e.filter.pos, `FILTER (WHERE …) expects a BOOLEAN condition, got ${typeName(c.type)}`);
    cond = (row) => c.fn(row) === true;
  }
  const key = `$a${i}`;
  if (e.star) {
    if (e.name !== 'COUNT') throw sqlError(e.pos, `${e.name}(*) is not valid; only COUNT takes *`);
    return { e, kind: 'count*', filter: cond, type: T.BIGINT, key };
  }
  if (e.args.length !== 1) throw sqlError(e.pos, `${e.name} takes one argument, got ${e.args.length}`);
  if (e.args[0]!.k === 'lit' && e.name === 'COUNT' && !e.distinct) return { e, kind: 'count*', filter: cond, type: T.BIGINT, key };
  const arg = compile(e.args[0]!, scope);
  if (e.distinct && e.name !== 'COUNT') throw sqlUnsupported(e.pos, `${e.name}(DISTINCT …) (COUNT(DISTINCT …) is supported)`);
  switch (e.name) {
    case 'COUNT':
      return { e, kind: e.distinct ? 'countDistinct' : 'count', arg, filter: cond, type: T.BIGINT, key };
    case 'SUM':
    case 'AVG':
      if (!isNumeric(arg.type)) throw sqlError(e.args[0]!.pos, `${e.name} expects a numeric argument, got ${typeName(arg.type)}`);
      {
        const exact = e.name === 'SUM' ? sumType(arg.type) : avgType(arg.type);
        if (exact !== undefined)
          return {
            e,
            kind: e.name === 'SUM' ? 'sum' : 'avg',
            arg,
            filter: cond,
            type: exact,
            key,
            dec: decimalSum(asDecimal(arg.type)!.scale),
          };
      }
      return {
        e,
        kind: e.name === 'SUM' ? 'sum' : 'avg',
        arg,
        filter: cond,
        type: arg.type.name === 'INT' ? T.INT : arg.type.name === 'NULL' ? T.BIGINT : arg.type,
        key,
      };
    default:
      if (arg.type.name === 'ROW') throw sqlError(e.args[0]!.pos, `${e.name} cannot compare ROW values`);
      return { e, kind: e.name === 'MIN' ? 'min' : 'max', arg, filter: cond, type: arg.type, key };
  }
}

/** Plans GROUP BY / aggregates of `s` over `rel`. */
export function planAggregate(s: Select, rel: Rel, ctx: PlanContext): Rel {
  const calls: Array<Expr & { k: 'call' }> = [];
  for (const it of s.items) {
    if (it.e.k === 'star') throw sqlError(it.e.pos, 'SELECT * with GROUP BY: name the grouped columns');
    collect(it.e, calls);
  }
  if (s.having) collect(s.having, calls);
  const unique = new Map<string, Expr & { k: 'call' }>();
  for (const c of calls) if (!unique.has(exprKey(c))) unique.set(exprKey(c), c);
  const aggs = [...unique.values()].map((c, i) => aggCall(c, i, rel.fields));
  for (const a of aggs)
    if (a.arg === undefined && a.e.args.some((x) => containsAgg(x))) throw sqlError(a.e.pos, 'aggregate functions cannot be nested');

  // Window columns in GROUP BY make a window aggregate.
  const w = rel.window;
  const isWindowCol = (e: Expr, key: string | undefined): boolean => {
    if (!w || e.k !== 'ref' || key === undefined) return false;
    const r = tryResolveRef(rel.fields, e);
    return r !== undefined && r.key === key && r.path.length === 0;
  };
  const groupExprs = s.groupBy.filter((g) => !isWindowCol(g, w?.startKey) && !isWindowCol(g, w?.endKey) && !isWindowCol(g, 'window_time'));
  const windowed = w !== undefined && s.groupBy.some((g) => isWindowCol(g, w.startKey)) && s.groupBy.some((g) => isWindowCol(g, w.endKey));
  if (w && !windowed && s.groupBy.some((g) => isWindowCol(g, w.startKey) || isWindowCol(g, w.endKey))) {
    throw sqlError(s.pos, 'a window aggregate groups by both window_start and window_end');
  }
  if (w && w.deferred && !windowed)
    throw sqlUnsupported(s.pos, `aggregating a ${w.fn} window TVF without GROUP BY window_start, window_end`);

  const keys = groupExprs.map((g) => compile(g, { fields: rel.fields }));
  for (let i = 0; i < keys.length; i++) if (keys[i]!.type.name === 'ROW') throw sqlUnsupported(groupExprs[i]!.pos, 'GROUP BY a ROW value');

  // The fields of the aggregated row, as the select list and HAVING see them.
  const groupFields: Field[] = groupExprs.map((g, i) => {
    if (g.k === 'ref') {
      const r = resolveRef(rel.fields, g);
      if (r.path.length === 0) return { name: r.field.name, qual: r.field.qual, key: windowed ? `$g${i}` : r.key, type: r.type };
    }
    return { name: `$g${i}`, key: `$g${i}`, type: keys[i]!.type };
  });
  const computed = new Map<string, Field>();
  groupExprs.forEach((g, i) => computed.set(exprKey(g), groupFields[i]!));
  const aggFields: Field[] = aggs.map((a) => ({ name: a.key, key: a.key, type: a.type }));
  aggs.forEach((a, i) => computed.set(exprKey(a.e), aggFields[i]!));
  const windowFields: Field[] = windowed
    ? rel.fields.filter((f) => f.key === w!.startKey || f.key === w!.endKey || f.key === 'window_time').map((f) => ({ ...f }))
    : [];
  const fields = [...groupFields, ...windowFields, ...aggFields];

  const scope = { fields, computed };
  checkGrouped(s, scope, rel);
  // A select list of plain group columns and aggregate calls (no HAVING) is the group
  // aggregate's own output row: no calc after it copies every change into a new one.
  const copies = !windowed && !s.having ? copiedColumns(s.items, scope) : undefined;

  let out: Rel = windowed
    ? windowAggregate(
        narrowed(rel, usedKeys(rel, w!, [...groupExprs, ...aggs.map((a) => a.e)]), ctx.uids),
        keys,
        groupFields,
        aggs,
        ctx,
        s,
        digest(rel, w!, groupExprs, aggs),
        groupExprs.map((g) => columnOf(g, rel)),
      )
    : groupAggregateRel(
        narrowed(rel, usedKeys(rel, undefined, [...groupExprs, ...aggs.map((a) => a.e)]), ctx.uids),
        groupExprs,
        keys,
        groupFields,
        aggs,
        ctx,
        s,
        copies?.columns,
      );
  if (copies !== undefined) {
    const outKey = (from: string): string | undefined => copies.columns.find((c) => c[1] === from)?.[0];
    const uniqueKey = out.uniqueKey?.map(outKey);
    return { ...out, fields: copies.fields, uniqueKey: uniqueKey?.every((k) => k !== undefined) ? (uniqueKey as string[]) : undefined };
  }
  out = { ...out, fields };
  if (s.having) out = filter(out, s.having, ctx, scope);
  return project(out, s.items, ctx, scope);
}

/** The input column an aggregate call reads when its one argument is a plain top-level column. */
function argColumn(a: AggCall, rel: Rel): string | undefined {
  const arg = a.e.args[0];
  return a.e.args.length === 1 && arg !== undefined && !a.e.distinct ? columnOf(arg, rel) : undefined;
}

/** The row key of a grouping expression that is a plain top-level column; undefined otherwise. */
function columnOf(g: Expr, rel: Rel): string | undefined {
  if (g.k !== 'ref') return undefined;
  const r = resolveRef(rel.fields, g);
  return r.path.length === 0 && r.field.get === undefined ? r.key : undefined;
}

function containsAgg(e: Expr): boolean {
  const found: Array<Expr & { k: 'call' }> = [];
  collect(e, found);
  return found.length > 0;
}

/** A select item that names a column neither grouped nor aggregated gets Flink's message. */
function checkGrouped(s: Select, scope: { fields: Field[]; computed: Map<string, Field> }, input: Rel): void {
  for (const it of s.items) {
    try {
      compile(it.e, scope);
    } catch (err) {
      const ref = firstRef(it.e, scope);
      if (
        ref &&
        !scope.fields.some((f) => f.name.toLowerCase() === ref.parts[ref.parts.length - 1]!.toLowerCase()) &&
        input.fields.some((f) => f.name.toLowerCase() === ref.parts[ref.parts.length - 1]!.toLowerCase())
      ) {
        throw sqlError(ref.pos, `column '${ref.parts.join('.')}' is neither in GROUP BY nor inside an aggregate function`);
      }
      throw err;
    }
  }
}

function firstRef(e: Expr, scope: { computed: Map<string, Field> }): (Expr & { k: 'ref' }) | undefined {
  if (scope.computed.has(exprKey(e))) return undefined;
  if (e.k === 'ref') return e;
  const kids: Expr[] =
    e.k === 'binary'
      ? [e.l, e.r]
      : e.k === 'unary' || e.k === 'cast' || e.k === 'isnull' || e.k === 'extract'
        ? [e.e]
        : e.k === 'call'
          ? e.args
          : e.k === 'case'
            ? [...(e.operand ? [e.operand] : []), ...e.whens.flat(), ...(e.otherwise ? [e.otherwise] : [])]
            : [];
  for (const k of kids) {
    const r = firstRef(k, scope);
    if (r) return r;
  }
  return undefined;
}

/** COUNT(*) in a window: the accumulator is the count. */
const COUNTS: AggregateFunction<Row, number, number> = {
  createAccumulator: () => 0,
  add: (_row, n) => n + 1,
  getResult: (n) => n,
  merge: (x, y) => x + y,
};

/**
 * Emits a counting window's row: its one group value is the key (keys.ts: NULL as NULL_KEY), each
 * of its COUNT(*)s the count. The row is one generated object literal from the values themselves:
 * no group-value and count arrays per emitted row, as windowRow takes (the DataStream q5 builds
 * its `{ auction, num, end }` the same way). `rows.build` is read per row: a fused reader may
 * narrow it (see WindowStep.narrow) after the operator is built, before the job runs.
 */
function countEmitter(rows: { build: CountRow }, grouped: boolean, proctime: boolean) {
  return (key: unknown, wctx: WindowContext, counts: number[], out: { collect(r: Row): void }): void => {
    const end = wctx.window.end;
    out.collect(rows.build(grouped && key !== NULL_KEY ? key : null, wctx.window.start, end, proctime ? Date.now() : end - 1, counts[0]!));
  };
}

type CountRow = (g: unknown, start: number, end: number, time: number, n: number) => Row;

/** A window's output columns in order (group columns, window_start, window_end, window_time, aggregates), each with its source in the builders' parameters. */
function windowColumns(gkeys: string[], startKey: string, endKey: string, aggs: AggCall[]): Array<[key: string, col: number]> {
  const keys = [...gkeys, startKey, endKey, 'window_time', ...aggs.map((a) => a.key)];
  return keys.map((k, i) => [k, i]);
}

/**
 * A counting window's output row (at most one group column, COUNT(*)s only) as ONE generated
 * object literal; the columns in windowRowBuilder's order, only those in `keep` when given.
 */
function countRowBuilder(gkeys: string[], startKey: string, endKey: string, aggs: AggCall[], keep?: ReadonlySet<string>): CountRow {
  const cols = windowColumns(gkeys, startKey, endKey, aggs).filter(([k]) => keep === undefined || keep.has(k));
  if (cols.some(([k]) => k === '__proto__')) {
    const general = windowRowBuilder(gkeys, startKey, endKey, aggs, keep);
    return (g, start, end, time, n) => general(gkeys.length === 0 ? [] : [g], start, end, time, new Array<number>(aggs.length).fill(n));
  }
  const params = [...gkeys.map(() => 'g'), 'start', 'end', 'time', ...aggs.map(() => 'n')];
  return new Binder().build(
    'g, start, end, time, n',
    `return { ${cols.map(([key, i]) => `${JSON.stringify(key)}: ${params[i]}`).join(', ')} };`,
  );
}

/** The aggregate states of a window aggregate without aggregate calls (never written: it has no slots). */
const NO_AGGS: unknown[] = Object.freeze([]) as unknown as unknown[];

/** A window aggregate's accumulator: the group's key values and one state per aggregate. */
interface WindowAcc {
  k: unknown[] | null;
  a: unknown[];
}

function distinctKey(v: unknown): string {
  return typeof v === 'string' ? `s${v}` : `n${String(v)}`;
}

function init(a: AggCall): unknown {
  switch (a.kind) {
    case 'count*':
    case 'count':
      return 0;
    case 'avg':
      return [0, 0];
    case 'countDistinct':
      return {};
    default:
      return null;
  }
}

/** Adds a row to one aggregate's state (append-only: window aggregates never retract). */
function addOne(a: AggCall, state: unknown, row: Row): unknown {
  if (a.filter && !a.filter(row)) return state;
  if (a.kind === 'count*') return (state as number) + 1;
  const v = a.arg!.fn(row);
  if (v === null || v === undefined) return state;
  switch (a.kind) {
    case 'count':
      return (state as number) + 1;
    case 'sum':
      if (a.dec) return a.dec.add(state as number | string | null, v as number, 1);
      return state === null ? v : (state as number) + (v as number);
    case 'avg': {
      const s = state as [number, number];
      if (a.dec) s[0] = a.dec.add(s[0], v as number, 1) as number;
      else s[0] += v as number;
      s[1] += 1;
      return s;
    }
    case 'min':
      return state === null || (v as number) < (state as number) ? v : state;
    case 'max':
      return state === null || (v as number) > (state as number) ? v : state;
    case 'countDistinct':
      (state as Record<string, 1>)[distinctKey(v)] = 1;
      return state;
  }
}

function mergeOne(a: AggCall, x: unknown, y: unknown): unknown {
  switch (a.kind) {
    case 'count*':
    case 'count':
      return (x as number) + (y as number);
    case 'sum':
      if (a.dec) return a.dec.merge(x as number | string | null, y as number | string | null);
      return x === null ? y : y === null ? x : (x as number) + (y as number);
    case 'avg': {
      const [s1, c1] = x as [number, number];
      const [s2, c2] = y as [number, number];
      return [a.dec ? a.dec.merge(s1, s2) : s1 + s2, c1 + c2];
    }
    case 'min':
      return x === null ? y : y === null ? x : (y as number) < (x as number) ? y : x;
    case 'max':
      return x === null ? y : y === null ? x : (y as number) > (x as number) ? y : x;
    case 'countDistinct':
      return { ...(x as object), ...(y as object) };
  }
}

function resultOf(a: AggCall, state: unknown): unknown {
  switch (a.kind) {
    case 'sum':
      return a.dec ? a.dec.sum(state as number | string | null) : state;
    case 'avg': {
      const [s, c] = state as [number, number];
      if (a.dec) return a.dec.avg(s, c);
      if (c === 0) return null;
      // AVG of an integer column is an integer, as Flink's (the sum's type).
      return a.type.name === 'BIGINT' || a.type.name === 'INT' ? Math.trunc(s / c) : s / c;
    }
    case 'countDistinct':
      return Object.keys(state as object).length;
    default:
      return state;
  }
}

/**
 * Window aggregates already planned, per input stream, by digest (Flink's SubplanReuser): nexmark
 * q5 counts bids per auction and window twice, under two aliases, and runs one operator.
 */
const planned = new WeakMap<AnyStream, Map<string, Rel>>();

/** What a window aggregate's output depends on besides its input stream: references as the row keys they read. */
function digest(rel: Rel, w: NonNullable<Rel['window']>, groupExprs: Expr[], aggs: AggCall[]): string {
  const resolved = (e: Expr): string =>
    JSON.stringify(e, (k, v: unknown) => {
      if (k === 'pos') return undefined;
      const x = v as Expr | null;
      if (x !== null && typeof x === 'object' && 'k' in x && x.k === 'ref') {
        const r = resolveRef(rel.fields, x);
        return `ref:${JSON.stringify([r.key, ...r.path])}`;
      }
      return v;
    });
  return JSON.stringify([w, groupExprs.map(resolved), aggs.map((a) => [a.kind, resolved(a.e)])]);
}

/** The row keys an aggregate reads: references in its grouping and aggregate calls, and a window's columns. */
function usedKeys(rel: Rel, w: Rel['window'], exprs: Expr[]): Set<string> {
  // A deferred TVF's window columns are not in the rows yet: the aggregate assigns the windows,
  // by the time column, or by the wall clock for processing time (the column is not read).
  const time = w === undefined || w.proctime ? [] : [w.timeKey];
  const keys = new Set(w === undefined ? [] : w.deferred ? time : [...time, w.startKey, w.endKey]);
  const walk = (v: unknown): void => {
    if (v === null || typeof v !== 'object') return;
    if (Array.isArray(v)) return v.forEach(walk);
    const x = v as Expr;
    if ('k' in x && x.k === 'ref') keys.add(resolveRef(rel.fields, x).key);
    else Object.values(v).forEach(walk);
  };
  exprs.forEach(walk);
  return keys;
}

function windowAggregate(
  rel: Rel,
  keys: Compiled[],
  groupFields: Field[],
  aggs: AggCall[],
  ctx: PlanContext,
  s: Select,
  digest: string,
  groupColumns: Array<string | undefined>,
): Rel {
  const w = rel.window!;
  const input = rel.stream as DataStream<Row>; // built before this operator's uid: EXPLAIN lists in plan order
  const reuse = planned.get(input) ?? planned.set(input, new Map()).get(input)!;
  const earlier = reuse.get(digest);
  if (earlier && !isDropped(earlier.stream)) return earlier;
  if (!w.deferred && !w.aggregated)
    throw sqlUnsupported(s.pos, 'a window aggregate over window TVF rows selected without aggregation (aggregate the window TVF directly)');
  // Over the output of a window aggregate (q5's second level), each row already has its window:
  // window_start and window_end join the key, and as all rows of one window carry the timestamp
  // window_end - 1, a tumbling window of the slide gathers exactly them.
  const rewindow = !w.deferred;
  if (rewindow && w.proctime) throw sqlUnsupported(s.pos, 'a window aggregate over the output of a processing-time window aggregate');
  if (rewindow) {
    const startKey = w.startKey;
    const endKey = w.endKey;
    keys = [...keys, { fn: columnFn([startKey]), type: T.TIMESTAMP }, { fn: columnFn([endKey]), type: T.TIMESTAMP }];
  }
  const nGroup = groupFields.length;
  const proctime = w.proctime === true;
  const keyFns = keys.map((k) => k.fn);
  const nAggs = aggs.length;
  const addAll = addStep(aggs, addOne);
  const fn: AggregateFunction<Row, WindowAcc, WindowAcc> = {
    // A GROUP BY without aggregate calls (a distinct, q8's persons) keeps no state per aggregate:
    // every accumulator shares one empty array instead of allocating its own.
    createAccumulator: nAggs === 0 ? () => ({ k: null, a: NO_AGGS }) : () => ({ k: null, a: aggs.map(init) }),
    add(row, acc) {
      if (acc.k === null) acc.k = keyFns.map((f) => f(row));
      addAll(row, acc.a);
      return acc;
    },
    getResult: (acc) => acc,
    merge: (x, y) => {
      const a = new Array<unknown>(nAggs);
      for (let i = 0; i < nAggs; i++) a[i] = mergeOne(aggs[i]!, x.a[i], y.a[i]);
      return { k: x.k ?? y.k, a };
    },
  };
  const gkeys = groupFields.map((f) => f.key);
  const windowRow = windowRowBuilder(gkeys, w.startKey, w.endKey, aggs);
  // The builder of the rows this operator emits: the whole row unless a fused reader narrows it.
  const emitted = { build: windowRow };
  // COUNT(*)s only, by at most one group column (q5's bids per auction): the state per window
  // and key is one number, and the group value is the key itself, so no accumulator object
  // and key array are made per window and key (five per bid in q5's HOP). A distinct by one
  // column (no aggregate calls: q8's auction sellers) is the same operator, its count unread.
  // Its own uid kind: a savepoint of the object-accumulator operator is refused, not restored
  // into numbers.
  const counting =
    !rewindow && nGroup <= 1 && aggs.every((a) => a.kind === 'count*' && a.filter === undefined) && (aggs.length > 0 || nGroup === 1);
  const windowUid = (detail: string): string => ctx.uids.next(counting ? 'count-window' : 'window', detail);
  const emit = (_key: unknown, wctx: WindowContext, elements: WindowAcc[], out: { collect(r: Row): void }): void => {
    const acc = elements[0]!;
    const start = rewindow ? (acc.k![nGroup] as number) : wctx.window.start;
    const end = rewindow ? (acc.k![nGroup + 1] as number) : wctx.window.end;
    // A processing-time window's window_time is a proctime attribute: the wall clock when it fires.
    out.collect(emitted.build(acc.k!, start, end, proctime ? Date.now() : end - 1, acc.a));
  };
  const uid = windowUid(
    `${w.fn} ${w.fn === 'SESSION' ? `gap ${w.gapMs} ms` : `size ${w.sizeMs} ms${w.fn !== 'TUMBLE' ? `, ${w.fn === 'HOP' ? 'slide' : 'step'} ${w.slideMs} ms` : ''}`} by [${groupFields.map((f) => f.name).join(', ')}] aggregate ${aggs.map((a) => a.e.name + (a.e.distinct ? ' DISTINCT' : '') + (a.e.filter ? ' FILTER' : '')).join(', ') || 'none'}`,
  );
  const groupKey = keySelector(keys);
  const windowed = input.keyBy(groupKey).window(rewindow ? TumblingEventTimeWindows.of(w.fn === 'SESSION' ? 1 : w.slideMs) : assignerOf(w));
  const counted = counting ? { build: countRowBuilder(gkeys, w.startKey, w.endKey, aggs) } : undefined;
  const stream = (
    counted !== undefined
      ? windowed.aggregate<number, number, Row>(COUNTS, countEmitter(counted, nGroup > 0, proctime))
      : windowed.aggregate<WindowAcc, WindowAcc, Row>(fn, emit)
  )
    .uid(uid)
    .name(`sql:${w.fn.toLowerCase()} window aggregate`);
  if (rewindow) {
    // What join-back.ts needs to run this aggregate inside a fused join-back.
    const groupCopies = new Map(groupColumns.flatMap((c, i) => (c === undefined ? [] : [[gkeys[i]!, c] as const])));
    groupCopies.set(w.startKey, w.startKey).set(w.endKey, w.endKey);
    const result = (acc: unknown): Row => {
      let row: Row | undefined;
      emit(undefined, undefined as never, [acc as WindowAcc], { collect: (r) => void (row = r) });
      return row!;
    };
    record(stream, {
      k: 'rewindow',
      input,
      sizeMs: w.fn === 'SESSION' ? 1 : w.slideMs,
      fn: fn as AggregateFunction<Row, unknown, unknown>,
      result,
      groupCopies,
      endKey: w.endKey,
      computedGroups: groupColumns.includes(undefined),
    });
  }
  // What join-extreme.ts needs to run this aggregate inside a fused join with its own input.
  else
    record(stream, {
      k: 'window',
      input,
      inputCalc: pendingCalc(rel),
      inputFields: rel.fields,
      window: w,
      groups: nGroup,
      aggs: aggs.map((a) => ({ kind: a.kind, argKey: argColumn(a, rel), filtered: a.filter !== undefined, type: a.type })),
      row: (start, end, values) => windowRow([], start, end, end - 1, values),
      aggKeys: aggs.map((a) => a.key),
      groupKeys: gkeys,
      groupFns: keyFns,
      groupKey,
      distinctRow:
        nAggs === 0
          ? (row, start, end) =>
              windowRow(
                keyFns.map((f) => f(row)),
                start,
                end,
                end - 1,
                NO_AGGS,
              )
          : undefined,
      columns: windowColumns(gkeys, w.startKey, w.endKey, aggs).map(([k]) => k),
      narrow(keep) {
        if (counted !== undefined) counted.build = countRowBuilder(gkeys, w.startKey, w.endKey, aggs, keep);
        else emitted.build = windowRowBuilder(gkeys, w.startKey, w.endKey, aggs, keep);
        // Its rows no longer hold every column: a later reader of the same aggregate gets its own operator.
        if (reuse.get(digest) === out) reuse.delete(digest);
      },
    });
  const out: Rel = {
    stream,
    fields: [],
    updating: false,
    rowtime: proctime ? undefined : 'window_time',
    aheadOfWatermark: proctime ? undefined : { [w.endKey]: 2, window_time: 1 },
    window: { ...w, deferred: false, aggregated: true },
  };
  reuse.set(digest, out);
  return out;
}

/**
 * A window's output row (group columns, window_start, window_end, window_time, aggregates) as
 * ONE generated object literal: every row has the same hidden class from the start, instead of
 * a keyed store and a shape transition per column (as row-builder.ts does for projections).
 * Only the columns in `keep`, when given.
 */
function windowRowBuilder(
  gkeys: string[],
  startKey: string,
  endKey: string,
  aggs: AggCall[],
  keep?: ReadonlySet<string>,
): (k: unknown[], start: number, end: number, time: number, a: unknown[]) => Row {
  const cols = windowColumns(gkeys, startKey, endKey, aggs).filter(([k]) => keep === undefined || keep.has(k));
  const nGroup = gkeys.length;
  if (cols.some(([k]) => k === '__proto__')) {
    return (k, start, end, time, a) => {
      const row: Row = {};
      const vs = [...gkeys.map((_, i) => k[i]), start, end, time, ...aggs.map((agg, i) => resultOf(agg, a[i]))];
      for (const [key, i] of cols) Object.defineProperty(row, key, { value: vs[i], enumerable: true, writable: true, configurable: true });
      return row;
    };
  }
  const b = new Binder();
  // COUNT, MIN and MAX states are their results; the others go through resultOf.
  const result = (agg: AggCall, i: number): string =>
    agg.kind === 'count*' || agg.kind === 'count' || agg.kind === 'min' || agg.kind === 'max'
      ? `a[${i}]`
      : `${b.bind((st: unknown) => resultOf(agg, st))}(a[${i}])`;
  const value = (i: number): string =>
    i < nGroup
      ? `k[${i}]`
      : i === nGroup
        ? 'start'
        : i === nGroup + 1
          ? 'end'
          : i === nGroup + 2
            ? 'time'
            : result(aggs[i - nGroup - 3]!, i - nGroup - 3);
  return b.build('k, start, end, time, a', `return { ${cols.map(([key, i]) => `${JSON.stringify(key)}: ${value(i)}`).join(', ')} };`);
}

/** The group aggregate's hook for an exact DECIMAL SUM/AVG. */
function exactSum(a: AggCall): AggregateSpec['exact'] {
  const d = a.dec;
  if (d === undefined) return undefined;
  return {
    add: (sum, v, delta) => d.add(sum as number | string, v as number, delta),
    result: a.kind === 'sum' ? (sum) => d.sum(sum as number | string) : (sum, n) => d.avg(sum as number | string, n),
  };
}

function groupAggregateRel(
  rel: Rel,
  groupExprs: Expr[],
  keys: Compiled[],
  groupFields: Field[],
  aggs: AggCall[],
  ctx: PlanContext,
  s: Select,
  output: Array<[string, string]> | undefined,
): Rel {
  // Group expressions that are not plain columns are computed into the row first ($g0, …).
  const extra = groupFields
    .map((f, i) => (f.key === `$g${i}` ? ([f.key, keys[i]!.fn] as const) : undefined))
    .filter((x) => x !== undefined);
  let input: AnyStream;
  // Appended rows go in as they are (the group keys columns of the pending calc): no change wrapper per row.
  if (!rel.updating) input = (extra.length === 0 ? rel : withGroupKeys(rel, groupExprs, groupFields, ctx)).stream;
  else if (extra.length === 0) input = rel.stream;
  else {
    const add = (row: Row): Row => {
      const o: Row = { ...row };
      for (const [k, f] of extra) o[k] = f(row);
      return o;
    };
    const uid = ctx.uids.next('calc', `group keys ${groupExprs.length}`);
    input = (rel.stream as DataStream<ChangeRow>).map((c): ChangeRow => ({ kind: c.kind, row: add(c.row) })).uid(uid);
  }
  const specs: AggregateSpec[] = aggs.map((a) => ({
    kind: a.kind,
    arg: a.arg?.fn,
    filter: a.filter,
    as: a.key,
    integerResult: a.kind === 'avg' && (a.type.name === 'BIGINT' || a.type.name === 'INT'),
    exact: exactSum(a),
  }));
  const uid = ctx.uids.next(
    'group',
    `GROUP BY [${groupFields.map((f) => f.name).join(', ')}] aggregate ${aggs.map((a) => a.e.name).join(', ') || 'none'} (changelog${rel.updating ? '' : ' of an append-only input'}${miniBatchNote(ctx)})`,
  );
  // Over inserts only, MIN and MAX keep their extreme, not every value (an insert-only input is
  // such a state's only reader, and a savepoint's multiset is read as its extreme).
  const opts = { groupBy: groupFields.map((f) => f.key), aggregates: specs, output, ttlMs: ctx.ttlMs, miniBatch: ctx.miniBatch, uid };
  const stream = rel.updating
    ? groupAggregate(input as DataStream<ChangeRow>, opts)
    : appendOnlyGroupAggregate(input as DataStream<Row>, opts);
  return {
    stream,
    fields: [],
    updating: true,
    uniqueKey: groupFields.map((f) => f.key),
    updateReason: `the non-windowed GROUP BY at line ${s.pos.line}, column ${s.pos.col}`,
  };
}

/** `rel` with the GROUP BY expressions that are not plain columns added as columns `$g0`, … of its pending calc. */
function withGroupKeys(rel: Rel, groupExprs: Expr[], groupFields: Field[], ctx: PlanContext): Rel {
  const { calc, fields } = calcOf(rel, ctx.uids);
  const memos = [...calc.memos];
  const columns: ColumnFn[] = rel.fields.map((f, i) => calc.columns?.[i] ?? [f.key]);
  const added = groupFields.flatMap((f, i) =>
    f.key === `$g${i}` ? [{ field: f, fn: memoized(compile(groupExprs[i]!, { fields }).fn, memos) }] : [],
  );
  const next = withColumns(calc, [...columns, ...added.map((a) => a.fn)], memos, `group keys ${added.map((a) => a.field.key).join(', ')}`);
  return pendingRel({ ...relProps(rel), fields: [...rel.fields, ...added.map((a) => a.field)] }, next);
}
