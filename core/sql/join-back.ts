/**
 * Join-back fusion. Nexmark q5 joins a window aggregate X (bids per auction and window) with an
 * aggregate over X grouped by the window (the maximum count per window) on the window, and keeps
 * the rows meeting a condition on the aggregate (num >= maxn). Planned as written that is six
 * stages: X fans out to a projection and to the second aggregate, and a window join stores every
 * row of X again. The DataStream version is one keyed stage: gather X's rows of a window,
 * compute the aggregate, emit the rows that satisfy the condition. This rewrites the first into
 * the second where it is provably the same result:
 *
 * - an inner window join whose one side is stateless calcs over a stream S and whose other side
 *   is stateless calcs over a window aggregate Y of stateless calcs over the same stream S (the
 *   reused sub-plan: X is planned once, lineage.ts sees both sides reach it);
 * - Y groups by plain columns plus window_start and window_end, and for every one of those the
 *   join has an equality between the column and the same column of S on the other side; so a
 *   row of S meets exactly the Y row of its own group, and keying S's rows by those columns
 *   gathers a whole Y group with every row it can join;
 * - conjuncts other than those equalities (time bounds between the sides among them) are the
 *   residual, checked on each joined row as the window join checks them.
 *
 * The fused operator keys S's rows by those columns and gathers them by the tumbling window Y
 * uses (every row of one SQL window carries the same timestamp, window_end - 1), and when the
 * window fires: Y's accumulator over the rows Y's calcs keep, Y's row through its calcs, then
 * each row through the other side's calcs, joined with Y's row and kept when the remaining
 * conditions are TRUE. A group whose key has a NULL joins nothing (SQL's = is never true for
 * NULL); an empty or HAVING-dropped Y group joins nothing, as the inner join.
 *
 * The sides were planned before the join saw them: their operators are the graph's newest
 * nodes, and are taken out (only when they are exactly those newest nodes, so no kept node
 * changes its id).
 */
import type { DataStream } from '../api/datastream.js';
import type { Collector } from '../contract/functions.js';
import { windowStart } from '../time/windows/window.js';
import type { StreamNode } from '../graph/stream-graph.js';
import type { Expr } from './ast.js';
import { dependsOn } from './calc.js';
import type { Row } from './expressions.js';
import { drop, isDropped, nodeOf, stepOf, type CalcStep, type RewindowStep } from './lineage.js';
import { feedStep, joinStep, type Copies } from './join-back-step.js';
import { exprText, type PlanContext } from './plan-steps.js';
import type { AnyStream, Rel } from './relation.js';
import type { PairColumn } from './row-builder.js';
import { tryResolveRef } from './scope.js';

/** What the window join would have been built from. */
export interface WindowJoinPlan {
  l: Rel;
  r: Rel;
  /** The equality conjuncts, as (left expression, right expression). */
  pairs: Array<[Expr, Expr]>;
  /** Their compiled sides (over the left rows, over the right rows). */
  pairFns: Array<[(row: Row) => unknown, (row: Row) => unknown]>;
  /** The other conjuncts: a condition over the combined row (undefined: none). */
  residual: ((row: Row) => boolean) | undefined;
  combine: (a: Row, b: Row) => Row;
  /** The columns `combine` builds, each from one side of the pair. */
  pair: readonly PairColumn[];
  /** The tumbling window the join pairs rows by. */
  sizeMs: number;
  /** What EXPLAIN prints (the join condition). */
  detail: string;
}

/** Stateless calcs from `base` up to a stream, in the order they run. */
export interface Chain {
  base: AnyStream;
  steps: CalcStep[];
  streams: AnyStream[];
}

export function chainOf(stream: AnyStream): Chain {
  const steps: CalcStep[] = [];
  const streams: AnyStream[] = [];
  let s = stream;
  for (let st = stepOf(s); st?.k === 'calc'; st = stepOf(s)) {
    steps.unshift(st);
    streams.unshift(s);
    s = st.input;
  }
  return { base: s, steps, streams };
}

/** The column of the chain's base that output column `key` copies unchanged, if any. */
export function originOf(chain: Chain, key: string | undefined): string | undefined {
  for (let i = chain.steps.length - 1; i >= 0 && key !== undefined; i--) key = chain.steps[i]!.copyOf(key);
  return key;
}

/** The chain's calcs as one function (undefined: a condition dropped the row). */
export function applyOf(chain: Chain): (row: Row) => Row | undefined {
  const fns = chain.steps.map((s) => s.apply);
  if (fns.length === 0) return (row) => row;
  if (fns.length === 1) return fns[0]!;
  return (row) => {
    let r: Row | undefined = row;
    for (let i = 0; i < fns.length && r !== undefined; i++) r = fns[i]!(r);
    return r;
  };
}

/**
 * How the chain's row is read from its base row when every calc only copies columns: its keys,
 * each with the base column it copies (undefined: no calcs, the base row itself); null when a
 * calc filters or computes a column.
 */
export function copiesOf(chain: Chain): Copies | null {
  if (chain.steps.length === 0) return undefined;
  const keys = chain.steps[chain.steps.length - 1]!.keys;
  if (keys === undefined || chain.steps.some((s) => s.filters)) return null;
  const out: Array<[string, string]> = [];
  for (const k of keys) {
    const from = originOf(chain, k);
    if (from === undefined) return null;
    out.push([k, from]);
  }
  return out;
}

/** The row key a plain column reference reads in `rel` (undefined for anything else). */
export function columnKey(e: Expr, rel: Rel): string | undefined {
  if (e.k !== 'ref') return undefined;
  const r = tryResolveRef(rel.fields, e);
  return r !== undefined && r.path.length === 0 && r.field.get === undefined ? r.key : undefined;
}

/** The match of the pattern with X on side `xLeft ? left : right`, or undefined. */
interface Match {
  xs: Chain;
  ys: Chain;
  yin: Chain;
  agg: RewindowStep;
  /** Columns of S whose values key the fused operator (one per grouping component of Y). */
  keys: string[];
  /** Which of them is window_end. */
  endKey: string;
  /** The same columns as the query names them on the X side (for EXPLAIN). */
  names: string[];
  /** Equalities the keying does not already make true, as (left value, right value) functions. */
  others: Array<[(row: Row) => unknown, (row: Row) => unknown]>;
}

function match(p: WindowJoinPlan, xLeft: boolean): Match | undefined {
  const x = xLeft ? p.l : p.r;
  const y = xLeft ? p.r : p.l;
  const xs = chainOf(x.stream);
  const ys = chainOf(y.stream);
  const agg = stepOf(ys.base);
  if (agg?.k !== 'rewindow' || agg.computedGroups || agg.sizeMs !== p.sizeMs) return undefined;
  const yin = chainOf(agg.input);
  if (yin.base !== xs.base) return undefined;
  // Each grouping component of Y (an output column of the aggregate) must be equated with the
  // same column of S on the X side.
  const covered = new Map<string, string>();
  const names = new Map<string, string>();
  const others: Match['others'] = [];
  p.pairs.forEach(([le, re], i) => {
    const xKey = originOf(xs, columnKey(xLeft ? le : re, x));
    const yOut = originOf(ys, columnKey(xLeft ? re : le, y));
    const yIn = yOut === undefined ? undefined : agg.groupCopies.get(yOut);
    if (xKey !== undefined && yIn !== undefined && originOf(yin, yIn) === xKey) {
      covered.set(yOut!, xKey);
      names.set(xKey, exprText(xLeft ? le : re));
    } else others.push(p.pairFns[i]!);
  });
  if (covered.size !== agg.groupCopies.size) return undefined;
  const keys = [...new Set(covered.values())];
  return { xs, ys, yin, agg, keys, endKey: covered.get(agg.endKey)!, names: keys.map((k) => names.get(k)!), others };
}

/**
 * The fused operator for this window join when the join is a join-back (see above), with the
 * sides' operators taken out of the graph; undefined (and nothing changed) otherwise.
 */
export function fuseJoinBack(p: WindowJoinPlan, ctx: PlanContext): AnyStream | undefined {
  const left = match(p, true);
  const m = left ?? match(p, false);
  if (m === undefined) return undefined;
  const xLeft = left !== undefined;
  if (!takeOut([...m.xs.streams, ...m.yin.streams, m.ys.base, ...m.ys.streams], ctx)) return undefined;

  const { agg, keys } = m;
  const xRow = applyOf(m.xs);
  const yIn = applyOf(m.yin);
  const yOut = applyOf(m.ys);
  const { combine, residual } = p;
  // As the window join's key: the left value not NULL and the same value on the right.
  const { others } = m;
  const equal = (a: Row, b: Row): boolean => {
    for (const [fa, fb] of others) {
      const v = fa(a);
      if (v === null || v === undefined || v !== fb(b)) return false;
    }
    return true;
  };
  // Where both sides' calcs only copy columns of X and the keying makes every equality true,
  // the rows of X are read in place at the window's end, not built by the calcs and joined
  // (join-back-step.ts): no object per row of X, one per row joined.
  const yCopies = copiesOf(m.yin);
  const xCopies = copiesOf(m.xs);
  const inPlace = yCopies !== null && xCopies !== null && others.length === 0;
  const end = m.endKey;
  // X a TUMBLE or HOP window aggregate grouped by its window_start: the in-place loops take
  // window_start as window_end - size, once per group, so X's rows need not carry it (below).
  const xAgg = stepOf(m.xs.base);
  const xWindow = xAgg?.k === 'window' ? xAgg.window : undefined;
  const sizeOfX =
    xWindow !== undefined && (xWindow.fn === 'TUMBLE' || xWindow.fn === 'HOP') && xWindow.endKey === end ? xWindow.sizeMs : undefined;
  const start =
    inPlace && yCopies !== undefined && sizeOfX !== undefined && keys.includes(xWindow!.startKey) ? xWindow!.startKey : undefined;
  const feed = inPlace ? feedStep(yCopies, (r, acc) => agg.fn.add(r, acc), start) : undefined;
  const joinRows = inPlace ? joinStep(p.pair, xLeft ? 0 : 1, xCopies, residual, start) : undefined;
  // The other grouping columns split a window_end's rows into groups (not window_start where derived).
  const rest = keys.filter((k) => k !== end && k !== start);
  const joinGroup = (rows: Row[], out: Collector<Row>): void => {
    const first = rows[0]!;
    for (const k of keys) if (k !== start && (first[k] === null || first[k] === undefined)) return;
    const ws = start === undefined ? undefined : (first[end] as number) - sizeOfX!;
    let acc = agg.fn.createAccumulator();
    let any = false;
    if (feed !== undefined) {
      acc = feed(rows, acc, ws);
      any = rows.length > 0;
    } else
      for (const row of rows) {
        const r = yIn(row);
        if (r === undefined) continue;
        acc = agg.fn.add(r, acc);
        any = true;
      }
    if (!any) return;
    const aggRow = yOut(agg.result(agg.fn.getResult(acc)));
    if (aggRow === undefined) return;
    if (joinRows !== undefined) return joinRows(rows, aggRow, out, ws);
    for (const row of rows) {
      const r = xRow(row);
      if (r === undefined) continue;
      if (!equal(xLeft ? r : aggRow, xLeft ? aggRow : r)) continue;
      const joined = xLeft ? combine(r, aggRow) : combine(aggRow, r);
      if (residual === undefined || residual(joined)) out.collect(joined);
    }
  };
  // Keyed by window_end alone (a number: no key string built per row, as the DataStream q5
  // keys by the window's end); the rows of one end are split by the other grouping columns.
  const restKey = rest.length === 1 ? (row: Row) => row[rest[0]!] ?? null : (row: Row) => JSON.stringify(rest.map((k) => row[k] ?? null));
  const join = (rows: Row[], out: Collector<Row>): void => {
    // Grouped by the window alone (q5): a window_end's rows are one group.
    if (rest.length === 0) return joinGroup(rows, out);
    const first = restKey(rows[0]!);
    let single = true;
    for (let i = 1; i < rows.length && single; i++) single = restKey(rows[i]!) === first;
    if (single) return joinGroup(rows, out);
    const groups = new Map<unknown, Row[]>();
    for (const row of rows) {
      const k = restKey(row);
      const g = groups.get(k);
      if (g === undefined) groups.set(k, [row]);
      else g.push(row);
    }
    for (const g of groups.values()) joinGroup(g, out);
  };
  // Its own uid kind: its state is a list of X's rows per window end (the window operator's
  // contents and trigger timers before), so a savepoint of the earlier layout is refused, not
  // read into this one.
  const uid = ctx.uids.next(
    'joinback-list',
    `window join-back fused into one keyed stage: rows of the shared window aggregate keyed by [${m.names.join(', ')}], the aggregate over them and the join on ${p.detail} at each window's end`,
  );
  const planNode = ctx.uids.nodes[ctx.uids.nodes.length - 1]!;
  // X's rows hold only the columns the in-place loops read, so only those cross the exchange and
  // sit in list state (q5: auction, count and window_end; not window_start nor window_time).
  if (inPlace && yCopies !== undefined && xAgg?.k === 'window') {
    const xSide = xLeft ? 0 : 1;
    const xFrom = xCopies === undefined ? undefined : new Map(xCopies);
    const reads = new Set<string>([end, ...rest, ...yCopies.map(([, from]) => from)]);
    for (const [, side, f] of p.pair) if (side === xSide) reads.add(xFrom === undefined ? f : xFrom.get(f)!);
    if (start !== undefined) reads.delete(start);
    const xNode = nodeOf(m.xs.base);
    if (xNode !== undefined && reads.size < xAgg.columns.length && [...reads].every((k) => xAgg.columns.includes(k))) {
      const xRel = xLeft ? p.l : p.r;
      const nameOf = new Map((xCopies ?? []).map(([k, from]) => [from, xRel.fields.find((f) => f.key === k)?.name ?? k]));
      const said = `; the aggregate's rows carry only [${xAgg.columns
        .filter((k) => reads.has(k))
        .map((k) => nameOf.get(k) ?? k)
        .join(', ')}]${start === undefined ? '' : `, window_start taken as window_end - ${sizeOfX} ms`}`;
      ctx.whenPlanned.push(() => {
        // Only where the fused stage is the aggregate's one reader once the whole statement is planned.
        if (xNode.outputs.length !== 1 || xNode.outputs[0]!.to !== nodeOf(fused)?.id) return;
        xAgg.narrow(reads);
        planNode.detail += said;
      });
    }
  }
  const size = p.sizeMs;
  // As the DataStream q5's second stage: each row appended to its key's list and one timer at
  // its window's last ms, instead of the window operator, whose per-row work (window objects,
  // contents read and written back by namespace, trigger and cleanup timers) cost the SQL
  // stage about twice the DataStream one. A key is a window_end, and every row of it carries
  // the timestamp window_end - 1, so a key's list holds one tumbling window's rows.
  const fused = (m.xs.base as DataStream<Row>)
    .keyBy((row: Row) => row[end] ?? null)
    .process<Row>({
      processElement(row, c) {
        // The last ms of the tumbling window of the slide holding the row, as TumblingEventTimeWindows.of(size) assigns it.
        const last = windowStart(c.timestamp, 0, size) + size - 1;
        // Late (its window fired already): dropped, as the window operator drops it.
        if (last <= c.timers.currentWatermark()) return;
        c.state.list<Row>(ROWS).add(row);
        c.timers.registerEventTimeTimer(last);
      },
      onTimer(_t, c, out) {
        const rows = c.state.list<Row>(ROWS);
        const all = rows.get();
        if (all.length > 0) join(all, out);
        rows.clear();
      },
    })
    .uid(uid)
    .name('sql:window join-back');
  return fused;
}

/** The state holding a key's rows until its window's end. */
const ROWS = 'rows';

/**
 * Takes the operators of `streams` out of the graph when they are exactly its newest nodes;
 * false (nothing changed) otherwise. Cached relations built on them are forgotten, and EXPLAIN
 * no longer lists them.
 */
export function takeOut(streams: AnyStream[], ctx: PlanContext): boolean {
  const graph = ctx.env.graph;
  const nodes = new Set<StreamNode>();
  for (const s of streams) {
    const n = nodeOf(s);
    if (n === undefined || graph.nodes[n.id] !== n) return false;
    nodes.add(n);
  }
  const cut = graph.nodes.length - nodes.size;
  if (nodes.size === 0 || [...nodes].some((n) => n.id < cut)) return false;
  for (const n of graph.truncate(cut)) drop(n);
  const uids = new Set([...nodes].map((n) => n.uid));
  for (let i = ctx.uids.nodes.length - 1; i >= 0; i--) if (uids.has(ctx.uids.nodes[i]!.uid)) ctx.uids.nodes.splice(i, 1);
  // A table or view read inside the join is planned again if read later (its plan is the same).
  for (const [name, rel] of ctx.scans) if (isDropped(dependsOn(rel))) ctx.scans.delete(name);
  return true;
}
