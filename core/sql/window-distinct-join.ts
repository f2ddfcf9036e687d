/**
 * Window-distinct-join fusion (Nexmark q8). A window join of two window aggregates without
 * aggregate calls (two distincts) on one group column of each side:
 *
 *   (SELECT id, name, window_start, window_end FROM TABLE(TUMBLE(TABLE person, …)) GROUP BY id, name, window_start, window_end) P
 *   JOIN (SELECT seller, window_start, window_end FROM TABLE(TUMBLE(TABLE auction, …)) GROUP BY seller, window_start, window_end) A
 *   ON P.id = A.seller AND P.window_start = A.window_start AND P.window_end = A.window_end
 *
 * planned as written is three keyed stages (each distinct keyed by its whole group, then the join
 * keyed by id = seller). The DataStream q8 is one: both inputs keyed by the join column in one
 * tumbling window, the distinct rows of each side built when it fires. Where that is exactly the
 * join's result, this rewrites the first into the second:
 *
 * - an inner window join (join.ts checked the same windows on both sides) whose sides are
 *   stateless calcs over a TUMBLE aggregate of event-time windows of the join's size, each
 *   grouped by columns (plain or computed) and the window, with no aggregate call;
 * - the equalities are exactly three: window_start = window_start, window_end = window_end and
 *   one group column of the left aggregate = one group column of the right, of the same SQL type
 *   whose = is JavaScript's === (integers, strings, booleans); no other conjunct.
 *
 * Then a left group and a right group join only if they have the same window and equal join
 * column, so keying both inputs by the join column and gathering them by the same tumbling
 * window the aggregates use (by the same record timestamps) holds every pair the join can make.
 * Each side's rows are kept as its groups (by the aggregate's own group key: the group's first
 * row, as an incremental window aggregate keeps one accumulator per group, not the rows); at the
 * window's end each group's output row is built as the aggregate builds it, taken through the
 * side's calcs (a HAVING or WHERE there may drop it), and every left × right pair meeting the
 * equalities is combined as the join combines it. A NULL join column joins nothing (SQL's = is never true for
 * NULL). Anything else keeps the unfused plan.
 *
 * The aggregates, the calcs over them and their input calcs are taken out of the graph (only when
 * they are its newest nodes, join-back.ts's takeOut); the input calcs are built again under the
 * fused stage.
 */
import type { DataStream } from '../api/datastream.js';
import { TumblingEventTimeWindows } from '../api/windows.js';
import { pendingRel } from './calc.js';
import type { Row } from './expressions.js';
import { applyOf, chainOf, columnKey, originOf, takeOut, type Chain, type WindowJoinPlan } from './join-back.js';
import { NULL_KEY } from './keys.js';
import { stepOf, type WindowStep } from './lineage.js';
import { exprText, type PlanContext } from './plan-steps.js';
import type { AnyStream, Rel } from './relation.js';
import { typeName } from './types.js';

/** Types whose SQL = is JavaScript's === on their values (so keyBy's key equality is SQL's). */
const STRICT = new Set(['TINYINT', 'SMALLINT', 'INT', 'BIGINT', 'VARCHAR', 'CHAR', 'BOOLEAN']);

interface Side {
  chain: Chain;
  step: WindowStep;
  distinctRow: NonNullable<WindowStep['distinctRow']>;
}

/** The side as calcs over a distinct of event-time TUMBLE windows of `sizeMs`, or undefined. */
function distinctSide(rel: Rel, sizeMs: number): Side | undefined {
  const chain = chainOf(rel.stream);
  const step = stepOf(chain.base);
  if (step?.k !== 'window' || step.distinctRow === undefined) return undefined;
  const w = step.window;
  if (w.fn !== 'TUMBLE' || w.proctime || w.sizeMs !== sizeMs) return undefined;
  return { chain, step, distinctRow: step.distinctRow };
}

/** The join column of each side (index into its aggregate's group columns), when the equalities are exactly the pattern's. */
function joinColumns(p: WindowJoinPlan, l: Side, r: Side): { cols: [number, number]; text: string } | undefined {
  let start = false;
  let end = false;
  let key: { cols: [number, number]; text: string } | undefined;
  for (const [le, re] of p.pairs) {
    const lCol = columnKey(le, p.l);
    const rCol = columnKey(re, p.r);
    const lo = originOf(l.chain, lCol);
    const ro = originOf(r.chain, rCol);
    if (lo === undefined || ro === undefined) return undefined;
    if (lo === l.step.window.startKey && ro === r.step.window.startKey && !start) start = true;
    else if (lo === l.step.window.endKey && ro === r.step.window.endKey && !end) end = true;
    else {
      const li = l.step.groupKeys.indexOf(lo);
      const ri = r.step.groupKeys.indexOf(ro);
      if (li < 0 || ri < 0 || key !== undefined) return undefined;
      const lt = p.l.fields.find((f) => f.key === lCol)?.type;
      const rt = p.r.fields.find((f) => f.key === rCol)?.type;
      if (lt === undefined || rt === undefined || typeName(lt) !== typeName(rt) || !STRICT.has(lt.name)) return undefined;
      key = { cols: [li, ri], text: `${exprText(le)} = ${exprText(re)}` };
    }
  }
  return start && end ? key : undefined;
}

/** Rows of both inputs in one keyed window, told apart. */
interface Tagged {
  s: 0 | 1;
  v: Row;
}

/**
 * One key's window: each side's groups in arrival order, as parallel arrays of the group's key
 * and its first row (plain arrays, so the state's snapshot encodes them as it encodes rows).
 */
interface Groups {
  lk: unknown[];
  l: Row[];
  rk: unknown[];
  r: Row[];
}

/** Adds `row` as its group's first row unless the group is there (a join key holds few groups: a scan). */
function addGroup(keys: unknown[], firsts: Row[], key: unknown, row: Row): void {
  if (keys.includes(key)) return;
  keys.push(key);
  firsts.push(row);
}

/**
 * The fused operator for this window join when it is a join of two distincts (see above), with
 * the sides' operators taken out of the graph; undefined (and nothing changed) otherwise.
 */
export function fuseDistinctJoin(p: WindowJoinPlan, ctx: PlanContext): AnyStream | undefined {
  if (p.residual !== undefined || p.pairs.length !== 3) return undefined;
  const l = distinctSide(p.l, p.sizeMs);
  const r = l && distinctSide(p.r, p.sizeMs);
  if (l === undefined || r === undefined) return undefined;
  const on = joinColumns(p, l, r);
  if (on === undefined) return undefined;
  const { cols } = on;
  const built = (st: WindowStep): AnyStream[] => (st.inputCalc === undefined ? [] : [st.input]);
  const taken = [...built(l.step), l.chain.base, ...l.chain.streams, ...built(r.step), r.chain.base, ...r.chain.streams];
  if (!takeOut(taken, ctx)) return undefined;

  // The aggregates' input calcs, built again (their operators went out with the aggregates').
  const inputOf = (st: WindowStep): DataStream<Row> =>
    (st.inputCalc === undefined
      ? st.input
      : pendingRel({ fields: [...st.inputFields], updating: false }, st.inputCalc).stream) as DataStream<Row>;
  const lIn = inputOf(l.step);
  const rIn = inputOf(r.step);
  const lKey = l.step.groupFns[cols[0]]!;
  const rKey = r.step.groupFns[cols[1]]!;
  const lRow = applyOf(l.chain);
  const rRow = applyOf(r.chain);
  const { pairFns, combine } = p;
  const equal = (a: Row, b: Row): boolean => {
    for (const [fa, fb] of pairFns) {
      const v = fa(a);
      if (v === null || v === undefined || v !== fb(b)) return false;
    }
    return true;
  };
  const lGroup = l.step.groupKey;
  const rGroup = r.step.groupKey;
  // A side's groups built from the first row of each (as the aggregate builds a distinct row),
  // taken through the side's calcs, which may drop one.
  const sideRows = (firsts: readonly Row[], side: Side, calcs: (row: Row) => Row | undefined, start: number, end: number): Row[] => {
    const out: Row[] = [];
    for (const row of firsts) {
      const built = calcs(side.distinctRow(row, start, end));
      if (built !== undefined) out.push(built);
    }
    return out;
  };
  const uid = ctx.uids.next(
    'distinct-join',
    `window join of two distincts fused into one keyed stage: both inputs keyed by the join column ${on.text} in one TUMBLE window of ${p.sizeMs} ms, each side's groups kept as they arrive and joined on ${p.detail} at each window's end`,
  );
  return (
    lIn
      .map((v): Tagged => ({ s: 0, v }))
      .union(rIn.map((v): Tagged => ({ s: 1, v })))
      // NULL keys gather as NULL_KEY as keys.ts's do; `equal` then joins none of them.
      .keyBy((t) => (t.s === 0 ? lKey(t.v) : rKey(t.v)) ?? NULL_KEY)
      .window(TumblingEventTimeWindows.of(p.sizeMs))
      // Incremental, as the two aggregates are: a window holds each side's groups (the group's
      // key and first row), not its rows; a second row of a group adds nothing.
      .aggregate<Groups, Groups, Row>(
        {
          createAccumulator: (): Groups => ({ lk: [], l: [], rk: [], r: [] }),
          add: (t, acc) => {
            if (t.s === 0) addGroup(acc.lk, acc.l, lGroup(t.v), t.v);
            else addGroup(acc.rk, acc.r, rGroup(t.v), t.v);
            return acc;
          },
          getResult: (acc) => acc,
        },
        (_key, wctx, results, out) => {
          for (const acc of results) {
            if (acc.l.length === 0 || acc.r.length === 0) continue;
            const { start, end } = wctx.window;
            const ls = sideRows(acc.l, l, lRow, start, end);
            const rs = sideRows(acc.r, r, rRow, start, end);
            for (const a of ls) for (const b of rs) if (equal(a, b)) out.collect(combine(a, b));
          }
        },
      )
      .uid(uid)
      .name('sql:window distinct join')
  );
}
