/**
 * Filters pushed below a join (Flink's FilterJoinRule / JoinConditionPushRule): a conjunct of
 * WHERE or ON that reads one side only runs on that side's rows before the join — composed
 * into the side's pending calc, so the rows it drops are never built, keyed, sent to another
 * thread or kept in join state. Which side may take it depends on the join type, since a
 * filter on the side an outer join pads with NULLs would change which rows are padded:
 *
 *   - WHERE, one side: pushed to a side the join preserves (inner: both; LEFT: left; RIGHT: right; FULL: none);
 *   - ON, one side: pushed to a side the join does not preserve (inner: both; LEFT: right; RIGHT: left; FULL: none);
 *   - WHERE over both sides of an inner join: into the join's condition, as Flink's FilterJoinRule
 *     does (the same rows: an inner join emits a pair only when its condition holds). There the
 *     join sees the time bounds among them: an interval join, or a regular join's retention
 *     (join-retention.ts), and pairs failing it are never built.
 */
import type { Expr } from './ast.js';
import { compile } from './expressions.js';
import { filter, type PlanContext } from './plan-steps.js';
import type { Rel } from './relation.js';
import type { Field } from './scope.js';

type JoinType = 'inner' | 'left' | 'right' | 'full';

/** The join's inputs with the pushable conjuncts applied, and the conjuncts left for the join (ON) and after it (WHERE). */
export interface Pushed {
  l: Rel;
  r: Rel;
  on: Expr[];
  /** The WHERE still to apply to the joined rows (the original expression when nothing was pushed). */
  where: Expr | undefined;
}

/** `e` split at its top-level ANDs. */
export function andParts(e: Expr | undefined): Expr[] {
  if (e === undefined) return [];
  if (e.k === 'binary' && e.op === 'AND') return [...andParts(e.l), ...andParts(e.r)];
  return [e];
}

function andOf(parts: Expr[]): Expr | undefined {
  return parts.reduce<Expr | undefined>(
    (acc, e) => (acc === undefined ? e : { k: 'binary', op: 'AND', l: acc, r: e, pos: acc.pos }),
    undefined,
  );
}

/** Whether `e` compiles over these fields alone. */
export function over(e: Expr, fields: readonly Field[]): boolean {
  try {
    compile(e, { fields });
    return true;
  } catch {
    return false;
  }
}

/** The one side `e` reads ('l' or 'r'); undefined when it reads both, neither, or a name both have. */
function sideOf(e: Expr, l: Rel, r: Rel): 'l' | 'r' | undefined {
  const inL = over(e, l.fields);
  const inR = over(e, r.fields);
  return inL === inR ? undefined : inL ? 'l' : 'r';
}

/** An equality between the two sides (what makes the join an equi-join). */
function twoSided(e: Expr, l: Rel, r: Rel): boolean {
  return (
    e.k === 'binary' &&
    e.op === '=' &&
    ((over(e.l, l.fields) && over(e.r, r.fields)) || (over(e.l, r.fields) && over(e.r, l.fields))) &&
    sideOf(e, l, r) === undefined
  );
}

/** Pushes what may go below a `type` join of `l` and `r` with `on` conjuncts and a `where`. */
export function pushDown(type: JoinType, l: Rel, r: Rel, on: Expr[], where: Expr | undefined, ctx: PlanContext): Pushed {
  const preserves = { l: type === 'inner' || type === 'left', r: type === 'inner' || type === 'right' };
  const padsOnly = { l: type === 'inner' || type === 'right', r: type === 'inner' || type === 'left' };
  const toL: Expr[] = [];
  const toR: Expr[] = [];
  const keepWhere: Expr[] = [];
  for (const e of andParts(where)) {
    const side = sideOf(e, l, r);
    if (side !== undefined && preserves[side]) (side === 'l' ? toL : toR).push(e);
    else keepWhere.push(e);
  }
  let keepOn = on;
  const onPushed = on.filter((e) => {
    const side = sideOf(e, l, r);
    return side !== undefined && padsOnly[side];
  });
  // The equality that keys the join must stay in ON.
  if (onPushed.length > 0 && on.some((e) => !onPushed.includes(e) && twoSided(e, l, r))) {
    keepOn = on.filter((e) => !onPushed.includes(e));
    for (const e of onPushed) (sideOf(e, l, r) === 'l' ? toL : toR).push(e);
  }
  if (type === 'inner' && keepWhere.length > 0) {
    keepOn = [...keepOn, ...keepWhere];
    keepWhere.length = 0;
  }
  for (const e of toL) l = filter(l, e, ctx);
  for (const e of toR) r = filter(r, e, ctx);
  return { l, r, on: keepOn, where: keepWhere.length === andParts(where).length && keepWhere.length > 0 ? where : andOf(keepWhere) };
}
