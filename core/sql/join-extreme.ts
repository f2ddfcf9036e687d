/**
 * Extreme-join fusion (Nexmark q7). A stream S joined with its own tumbling-window MAX:
 *
 *   S B JOIN (SELECT MAX(v) AS m, window_end AS e FROM TABLE(TUMBLE(TABLE S, DESCRIPTOR(t), size))
 *             GROUP BY window_start, window_end) B1
 *   ON B.v = B1.m WHERE B.t BETWEEN B1.e - size AND B1.e
 *
 * is a regular join (window_end is no time attribute): planned as written it sends every row of
 * S through two exchanges and keeps each in join state keyed by v. It is the same result to
 * key S's rows by window and keep per window only the rows that can still equal the MAX
 * (runtime/window-extreme-join.ts), where this holds:
 *
 * - an inner join of two append-only sides; the right is a projection (no condition) of a
 *   TUMBLE aggregate grouped by window_start and window_end only, of ONE MAX or MIN of a plain
 *   numeric column v, without FILTER or DISTINCT;
 * - the aggregate's input rows are the left side's rows: the same operator under both, the same
 *   conditions (a view's calc narrowed two ways shares its condition functions), and v and the
 *   time column t read by the same column function on both sides;
 * - the window is assigned by the left side's time attribute t;
 * - a conjunct equates the left's v with the right's copy of the MAX;
 * - conjuncts bound the left's t by a right column copying window_end e from both sides within
 *   [e - size, e]: then a row can only match its own window, or the window before when t is
 *   exactly on its start (q7's BETWEEN), and a row below its window's running MAX never equals
 *   the final one.
 *
 * Every conjunct (the equality and the bounds included) is still checked on each joined row, so
 * the pruning only has to keep every row that can match. Anything else (another aggregate, more
 * of them, another bound, an outer join, a condition on either side that the other lacks) keeps
 * the regular join.
 */
import type { DataStream } from '../api/datastream.js';
import type { Expr } from './ast.js';
import { calcFunction, copiesOf, dependsOn, pendingCalc, type Calc } from './calc.js';
import { columnKey, takeOut } from './join-back.js';
import { offsetTerm } from './join-retention.js';
import { stepOf, type WindowStep } from './lineage.js';
import type { PlanContext } from './plan-steps.js';
import type { AnyStream, Rel, Row } from './relation.js';
import type { ColumnFn } from './row-builder.js';
import { windowExtremeJoin } from './runtime/window-extreme-join.js';
import type { Field } from './scope.js';

/** What the regular join would have been built from. */
export interface ExtremeJoinPlan {
  joinType: 'inner' | 'left' | 'right' | 'full';
  l: Rel;
  r: Rel;
  /** The equality conjuncts, as (left expression, right expression). */
  eqPairs: ReadonlyArray<readonly [Expr, Expr]>;
  /** The other conjuncts. */
  rest: readonly Expr[];
  /** Compiles every conjunct into one test of the joined row (TRUE), called only for a fusion. */
  holds: () => (row: Row) => boolean;
  combine: (a: Row, b: Row) => Row;
  /** What EXPLAIN prints (the join condition). */
  detail: string;
}

/** Types whose SQL comparison is JavaScript's on numbers. */
const NUMBERS = new Set(['TINYINT', 'SMALLINT', 'INT', 'BIGINT', 'FLOAT', 'DOUBLE']);

/** The function a calc computes column `key` of its output with (a plain copy is its path). */
function columnOf(calc: Calc | undefined, fields: readonly Field[], key: string): ColumnFn | undefined {
  const i = fields.findIndex((f) => f.key === key);
  if (i < 0) return undefined;
  return calc?.columns?.[i] ?? [key];
}

function sameColumn(a: ColumnFn | undefined, b: ColumnFn | undefined): boolean {
  if (a === undefined || b === undefined) return false;
  if (typeof a === 'function' || typeof b === 'function') return a === b;
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** The right side as a projection of a stream (the aggregate, if it is one): the columns it copies, its row function, its operator if built. */
function overAggregate(
  r: Rel,
): { input: AnyStream; copyOf: (key: string) => string | undefined; rightRow: (row: Row) => Row; built?: AnyStream } | undefined {
  const rc = pendingCalc(r);
  if (rc !== undefined) {
    if (rc.conds.length > 0 || rc.updating || rc.asInserts) return undefined;
    const f = calcFunction(rc, r.fields);
    if (f.op !== 'map' && f.op !== 'none') return undefined;
    const rightRow = f.op === 'none' ? (row: Row) => row : (row: Row) => f.fn(row, undefined as never) as Row;
    const built = dependsOn(r);
    return { input: rc.input, copyOf: copiesOf(rc.columns, r.fields), rightRow, built: built === rc.input ? undefined : built };
  }
  // Built already (a subquery's projection): what the planner recorded of it.
  const st = stepOf(r.stream);
  if (st?.k === 'calc')
    return st.filters ? undefined : { input: st.input, copyOf: st.copyOf, rightRow: (row) => st.apply(row)!, built: r.stream };
  return { input: r.stream, copyOf: (k) => k, rightRow: (row) => row };
}

/** Whether the left side's rows are the rows the aggregate reads, with the same `keys`. */
function sameRows(l: Rel, step: WindowStep, keys: readonly string[]): boolean {
  const lc = pendingCalc(l);
  const ic = step.inputCalc;
  if (lc === undefined || ic === undefined) {
    if (lc !== ic || dependsOn(l) !== step.input) return false;
  } else {
    if (lc.input !== ic.input || lc.updating || ic.updating || lc.stamped !== ic.stamped) return false;
    if (lc.conds.length !== ic.conds.length || lc.conds.some((c, i) => c !== ic.conds[i])) return false;
  }
  return keys.every((k) => sameColumn(columnOf(lc, l.fields, k), columnOf(ic, step.inputFields, k)));
}

/** The tightest bounds [lo, hi] on left.t - right.e the conjuncts state (e a right column copying window_end). */
function timeBounds(conds: readonly Expr[], l: Rel, r: Rel, tKey: string, isEnd: (key: string) => boolean): { lo: number; hi: number } {
  let lo = -Infinity;
  let hi = Infinity;
  for (const c of conds) {
    if (c.k !== 'binary' || !['<', '<=', '>', '>='].includes(c.op)) continue;
    const left = (e: Expr) => offsetTerm(e, l, (k) => k === tKey);
    const right = (e: Expr) => offsetTerm(e, r, isEnd);
    let lt = left(c.l);
    let rt = right(c.r);
    let op = c.op;
    if (lt === undefined || rt === undefined) {
      lt = left(c.r);
      rt = right(c.l);
      op = ({ '<': '>', '<=': '>=', '>': '<', '>=': '<=' } as Record<string, string>)[c.op]!;
    }
    if (lt === undefined || rt === undefined) continue;
    // t + a OP e + b: t - e OP b - a (a strict bound taken as the weaker non-strict one: still implied).
    const d = rt.offset - lt.offset;
    if (op === '>' || op === '>=') lo = Math.max(lo, d);
    else hi = Math.min(hi, d);
  }
  return { lo, hi };
}

/**
 * The fused operator for this join when it is the shape above, with the aggregate and the
 * operators only it read taken out of the graph; undefined (nothing changed) otherwise.
 */
export function fuseExtremeJoin(p: ExtremeJoinPlan, ctx: PlanContext): AnyStream | undefined {
  const { l, r } = p;
  const tKey = l.rowtime;
  if (p.joinType !== 'inner' || l.updating || r.updating || tKey === undefined) return undefined;
  const right = overAggregate(r);
  if (right === undefined) return undefined;
  const aggStream = right.input;
  const step = stepOf(aggStream);
  if (step?.k !== 'window') return undefined;
  const w = step.window;
  const agg = step.aggs[0];
  if (w.fn !== 'TUMBLE' || w.proctime || w.timeKey !== tKey || step.groups !== 0 || step.aggs.length !== 1 || agg === undefined)
    return undefined;
  const vKey = agg.argKey;
  if ((agg.kind !== 'max' && agg.kind !== 'min') || agg.filtered || vKey === undefined || !NUMBERS.has(agg.type.name)) return undefined;
  if (!sameRows(l, step, [tKey, vKey])) return undefined;

  // Right columns that copy the aggregate's value and window_end.
  const { copyOf, rightRow } = right;
  const equated = p.eqPairs.some(([le, re]) => columnKey(le, l) === vKey && copyOf(columnKey(re, r) ?? '') === step.aggKeys[0]);
  if (!equated) return undefined;
  const { lo, hi } = timeBounds([...p.rest], l, r, tKey, (k) => copyOf(k) === w.endKey);
  const size = w.sizeMs;
  if (!(lo >= -size && hi <= 0)) return undefined;

  // Taken out: the right side's projection if built, the aggregate, and its input operator
  // unless that is the left side's own (the same calc).
  const lc = pendingCalc(l);
  const shared = lc === step.inputCalc;
  const taken = [...(shared ? [] : [step.input]), aggStream, ...(right.built === undefined ? [] : [right.built])];
  if (!takeOut(taken, ctx)) return undefined;

  const { combine } = p;
  const holds = p.holds();
  const kind = agg.kind.toUpperCase();
  const what = `${kind}(${vKey}) per TUMBLE window of ${size} ms`;
  const fanOutUid = ctx.uids.next('calc', 'rows on a window start also to the window before (a row on its end may match it)');
  const uid = ctx.uids.next(
    'extreme-join',
    `join with its own ${what} fused into one stage keyed by window: per window the rows at the running ${kind}, joined on ${p.detail} when the window fires; the ${kind} kept for late rows`,
  );
  return windowExtremeJoin(l.stream as DataStream<Row>, {
    timeKey: tKey,
    valueKey: vKey,
    kind: agg.kind,
    sizeMs: size,
    edge: hi >= 0,
    join: (row, start, extreme) => {
      const joined = combine(row, rightRow(step.row(start, start + size, [extreme])));
      return holds(joined) ? joined : undefined;
    },
    uid,
    fanOutUid,
    name: 'sql:window extreme join',
  });
}
