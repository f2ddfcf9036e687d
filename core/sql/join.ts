/**
 * Joins. Two event-time inputs with an equality and time bounds between their time attributes
 * are an interval join (the DataStream intervalJoin); two window aggregates (or TUMBLE TVFs)
 * joined on window_start and window_end are a window join (the DataStream window join); any
 * other equi-join is sqlchange's regularJoin, whose output is a changelog.
 */
import type { DataStream } from '../api/datastream.js';
import { TumblingEventTimeWindows } from '../api/windows.js';
import type { Expr, FromItem } from './ast.js';
import { sqlError, sqlUnsupported } from './errors.js';
import { compile, type Compiled, type Row } from './expressions.js';
import { exprText, filter, type PlanContext } from './plan-steps.js';
import { andParts, over, pushDown } from './join-pushdown.js';
import { namesUnknown, pruned, refsOf } from './join-prune.js';
import { settled } from './calc.js';
import { planLookupJoin } from './lookup-join.js';
import type { AnyStream, Rel } from './relation.js';
import { regularJoin, type ChangeRow } from './runtime/index.js';
import { fieldOf, type Field } from './scope.js';
import { comparable, typeName } from './types.js';
import { materializeWindows } from './window-tvf.js';
import { fuseJoinBack, type WindowJoinPlan } from './join-back.js';
import { fuseDistinctJoin } from './window-distinct-join.js';
import { keySelector, rawKey, rowIdOf } from './keys.js';
import { pairColumns, pickBuilder, type PairColumn } from './row-builder.js';
import { offerProjection } from './join-projection.js';
import { allTrue } from './codegen.js';
import { joinRetention, offsetTerm } from './join-retention.js';
import { fuseExtremeJoin } from './join-extreme.js';

function conjuncts(e: Expr | undefined): Expr[] {
  if (!e) return [];
  if (e.k === 'binary' && e.op === 'AND') return [...conjuncts(e.l), ...conjuncts(e.r)];
  if (e.k === 'between' && !e.not) {
    return [
      { k: 'binary', op: '>=', l: e.e, r: e.lo, pos: e.pos },
      { k: 'binary', op: '<=', l: e.e, r: e.hi, pos: e.pos },
    ];
  }
  return [e];
}

/** `rowtime ± INTERVAL …` of one side: the side and the constant offset, if `e` is that. */
function timeTerm(e: Expr, l: Rel, r: Rel): { side: 'l' | 'r'; offset: number } | undefined {
  for (const [side, rel] of [
    ['l', l],
    ['r', r],
  ] as const) {
    const t = rel.rowtime === undefined ? undefined : offsetTerm(e, rel, (k) => k === rel.rowtime);
    if (t) return { side, offset: t.offset };
  }
  return undefined;
}

/**
 * Plans a join and the WHERE over it (for a comma join, its conditions); conjuncts that read
 * one side are pushed below the join where its type allows (join-pushdown.ts), and each side
 * keeps only the columns the join and `reads` (the query over it) read (join-prune.ts).
 */
export function planJoin(f: FromItem & { k: 'join' }, ctx: PlanContext, where?: Expr, reads?: readonly unknown[]): Rel {
  const onWhere = (rel: Rel, e: Expr | undefined): Rel => (e === undefined ? rel : filter(rel, e, ctx));
  const on = conjuncts(f.type === 'cross' ? where : f.on);
  const after = f.type === 'cross' ? undefined : where;
  const refs = reads === undefined ? undefined : refsOf([on, after, reads]);
  if (f.r.k === 'table' && f.r.asOf !== undefined)
    return onWhere(planLookupJoin(f, f.r, ctx, refs), f.type === 'cross' ? undefined : where);
  const joinType = f.type === 'cross' ? 'inner' : f.type;
  // The left side is built before the right is planned (so uids keep their planning order)
  // unless a conjunct might be pushed into it.
  const leftAll = ctx.planFrom(f.l, ctx);
  let left = pruned(leftAll, refs, ctx.uids);
  const mayPush = [...on, ...andParts(after)].some((e) => over(e, left.fields) && !over(e, []));
  if (!mayPush) settled(left);
  let right = ctx.planFrom(f.r, ctx);
  if (namesUnknown(refs, leftAll, right)) left = leftAll;
  else right = pruned(right, refs, ctx.uids);
  const p = pushDown(joinType, left, right, on, after, ctx);
  // The sides are built by the join: an append-only side's rows go in as they are.
  return onWhere(planEquiJoin(f, joinType, p.l, p.r, p.on, ctx), p.where);
}

/** The join itself of `l` and `r` on the conjuncts `conds`. */
function planEquiJoin(
  f: FromItem & { k: 'join' },
  joinType: 'inner' | 'left' | 'right' | 'full',
  l: Rel,
  r: Rel,
  conds: Expr[],
  ctx: PlanContext,
): Rel {
  // Right fields whose key the left already uses are renamed in the joined row.
  const leftKeys = new Set(l.fields.map((x) => x.key));
  const rightFields: Field[] = r.fields.map((x) => {
    let key = x.key;
    for (let i = 1; leftKeys.has(key); i++) key = `${x.key}$${i}`;
    leftKeys.add(key);
    return { ...x, key };
  });
  const fields = [...l.fields, ...rightFields];
  const rFrom = r.fields.map((x) => x.key);
  const rTo = rightFields.map((x) => x.key);
  const pair = pairColumns(
    l.fields.map((x) => x.key),
    rFrom,
    rTo,
  );
  const combine = pickBuilder(pair);

  const eqL: Compiled[] = [];
  const eqR: Compiled[] = [];
  const eqExprs: Expr[] = [];
  const eqPairs: Array<[Expr, Expr]> = [];
  const bounds: Array<{ op: string; d: number; e: Expr }> = [];
  const rest: Expr[] = [];
  for (const c of conds.flatMap(conjuncts)) {
    if (c.k === 'binary' && c.op === '=') {
      const lr = over(c.l, l.fields) && over(c.r, r.fields);
      const rl = over(c.l, r.fields) && over(c.r, l.fields);
      if (lr || rl) {
        const a = compile(lr ? c.l : c.r, { fields: l.fields });
        const b = compile(lr ? c.r : c.l, { fields: r.fields });
        if (!comparable(a.type, b.type)) throw sqlError(c.pos, `cannot compare ${typeName(a.type)} with ${typeName(b.type)}`);
        eqL.push(a);
        eqR.push(b);
        eqExprs.push(c);
        eqPairs.push(lr ? [c.l, c.r] : [c.r, c.l]);
        continue;
      }
    }
    if (c.k === 'binary' && ['<', '<=', '>', '>='].includes(c.op)) {
      const a = timeTerm(c.l, l, r);
      const b = timeTerm(c.r, l, r);
      if (a && b && a.side !== b.side) {
        // a.rt + a.off OP b.rt + b.off, as a bound on d = right.rt - left.rt.
        const flip = a.side === 'l';
        const k = flip ? a.offset - b.offset : b.offset - a.offset;
        const op = flip ? ({ '<': '>', '<=': '>=', '>': '<', '>=': '<=' } as Record<string, string>)[c.op]! : c.op;
        bounds.push({ op, d: k, e: c });
        continue;
      }
    }
    rest.push(c);
  }
  if (f.type === 'cross' && eqL.length === 0) throw sqlUnsupported(f.pos, 'a join without an equality between the two sides (cross join)');
  if (eqL.length === 0) throw sqlUnsupported(f.pos, 'a join without an equality between the two sides');

  const condition = (es: Expr[]): ((row: Row) => boolean) | undefined => {
    const fns = es.map((e) => {
      const c = compile(e, { fields });
      if (c.type.name !== 'BOOLEAN') throw sqlError(e.pos, `a join condition must be BOOLEAN, got ${typeName(c.type)}`);
      return c.fn;
    });
    return fns.length === 0 ? undefined : allTrue(fns);
  };
  const residual = condition(rest);
  const keyL = keySelector(eqL);
  const keyR = keySelector(eqR);
  // SQL's = is never true for NULL: rows of the left side with a NULL key cannot join (inner
  // interval and window joins), so they are dropped before the join instead of meeting each other.
  const leftHasKey = (rows: AnyStream): AnyStream => {
    const fs = eqL.map((k) => k.fn);
    return (rows as DataStream<Row>)
      .filter((row) => fs.every((f) => f(row) !== null))
      .uid(ctx.uids.next('filter', 'left join key IS NOT NULL'));
  };
  const on = eqExprs.map(exprText).join(' AND ');

  // Window join: both sides windowed the same way, joined on window_start and window_end.
  const wl = l.window;
  const wr = r.window;
  const onWindow = (side: Rel, key: string | undefined): boolean =>
    key !== undefined &&
    eqL.concat(eqR).length > 0 &&
    eqExprs.some((e) => e.k === 'binary' && [e.l, e.r].some((x) => x.k === 'ref' && refKey(x, side) === key));
  if (wl && wr && onWindow(l, wl.startKey) && onWindow(l, wl.endKey) && onWindow(r, wr.startKey) && onWindow(r, wr.endKey)) {
    if (joinType !== 'inner') throw sqlUnsupported(f.pos, `a ${joinType.toUpperCase()} window join (inner window joins are supported)`);
    if (wl.proctime || wr.proctime) throw sqlUnsupported(f.pos, 'a window join of processing-time windows');
    if (wl.fn !== wr.fn || wl.sizeMs !== wr.sizeMs || wl.slideMs !== wr.slideMs)
      throw sqlError(f.pos, 'a window join needs the same windows on both sides');
    const tumbleRaw = (w: typeof wl): boolean => w.fn === 'TUMBLE' && !w.aggregated;
    if (!(wl.aggregated || tumbleRaw(wl)) || !(wr.aggregated || tumbleRaw(wr)))
      throw sqlUnsupported(f.pos, `a window join of raw ${wl.fn} TVF rows (join window aggregates, or TUMBLE windows)`);
    l = materializeWindows(l, ctx, f.pos);
    r = materializeWindows(r, ctx, f.pos);
    // Rows of one window carry timestamps inside it (window_end - 1 after an aggregate), and the
    // key holds window_start and window_end, so a tumbling window of the slide pairs exactly
    // the rows of the same SQL window.
    const size = wl.fn === 'SESSION' ? 1 : wl.slideMs;
    // The window pairs rows by window and key only: time bounds between the sides are checked
    // on each pair with the other conjuncts.
    const checks = [...rest, ...bounds.map((b) => b.e)];
    const windowResidual = condition(checks);
    const plan: WindowJoinPlan = {
      l,
      r,
      pairs: eqPairs,
      pairFns: eqL.map((a, i) => [a.fn, eqR[i]!.fn]),
      residual: windowResidual,
      combine,
      pair,
      sizeMs: size,
      detail: [on, ...checks.map(exprText)].join(' AND '),
    };
    const fused = fuseJoinBack(plan, ctx) ?? fuseDistinctJoin(plan, ctx);
    if (fused) return { stream: fused, fields, updating: false };
    const uid = ctx.uids.next('join', `window join (${wl.fn}) on ${on}`);
    let stream: AnyStream = (leftHasKey(l.stream) as DataStream<Row>)
      .join(r.stream as DataStream<Row>)
      .where(keyL)
      .equalTo(keyR)
      .window(TumblingEventTimeWindows.of(size))
      .apply((a: Row, b: Row) => combine(a, b))
      .uid(uid)
      .name('sql:window join');
    if (windowResidual)
      stream = (stream as DataStream<Row>).filter(windowResidual).uid(ctx.uids.next('filter', checks.map(exprText).join(' AND ')));
    return { stream, fields, updating: false };
  }

  // Interval join: time bounds between the two time attributes.
  if (bounds.length > 0 && !l.updating && !r.updating && l.rowtime !== undefined && r.rowtime !== undefined) {
    let lower = -Infinity;
    let upper = Infinity;
    for (const b of bounds) {
      if (b.op === '>=') lower = Math.max(lower, b.d);
      else if (b.op === '>') lower = Math.max(lower, b.d + 1);
      else if (b.op === '<=') upper = Math.min(upper, b.d);
      else upper = Math.min(upper, b.d - 1);
    }
    // Bounded on both sides, it is an interval join; else (e.g. q4's BETWEEN A.dateTime AND
    // A.expires) a regular join checks the condition, as Flink plans it.
    if (Number.isFinite(lower) && Number.isFinite(upper) && joinType === 'inner') {
      const uid = ctx.uids.next('join', `interval join on ${on}, right time - left time in [${lower}, ${upper}] ms`);
      const stream = (leftHasKey(l.stream) as DataStream<Row>)
        .keyBy(keyL)
        .intervalJoin((r.stream as DataStream<Row>).keyBy(keyR))
        .between(lower, upper)
        .process((a: Row, b: Row, _ctx, out) => {
          const row = combine(a, b);
          if (residual === undefined || residual(row)) out.collect(row);
        })
        .uid(uid)
        .name('sql:interval join');
      return { stream, fields, updating: false };
    }
  }
  if (bounds.length > 0) rest.push(...bounds.map((b) => b.e));

  // A stream joined with its own window MAX / MIN (Nexmark q7): one keyed stage where it is the same result.
  const extreme = fuseExtremeJoin(
    {
      joinType,
      l,
      r,
      eqPairs,
      rest,
      holds: () => condition([...eqExprs, ...rest])!,
      combine,
      detail: [on, ...rest.map(exprText)].join(' AND '),
    },
    ctx,
  );
  if (extreme) return { stream: extreme, fields, updating: false };

  // Regular join: a changelog (sqlchange's runtime). An append-only side goes in as its plain
  // rows (appendOnly below), a changelog side as its changes.
  const left = l.stream as DataStream<ChangeRow> | DataStream<Row>;
  const right = r.stream as DataStream<ChangeRow> | DataStream<Row>;
  const allRest = rest.map((e) => compile(e, { fields }).fn);
  const holds = allTrue(allRest);
  // The condition reads the combined row; the pair it accepts is combined next, so that row is handed over, not built again.
  let checkedA: Row | null = null;
  let checkedB: Row | null = null;
  let checkedRow: Row | undefined;
  // Rows of one side no later row can match are dropped (inner joins: an outer side's padded rows are not reasoned about).
  const retention = joinType === 'inner' ? joinRetention(l, r, rest) : undefined;
  // An inner join of two append-only inputs is append-only (Flink's too): its rows go out as
  // they are, and a Top-N or MIN/MAX over it keeps only what can still be in its result.
  const appendOut = joinType === 'inner' && !l.updating && !r.updating;
  const uid = ctx.uids.next(
    'join',
    `${joinType} join on ${on}${allRest.length ? ` where ${rest.map(exprText).join(' AND ')}` : ''} (${appendOut ? 'append-only' : 'changelog'})${retention ? `, ${retention.detail}` : ''}; ${inputsText(l, r)}`,
  );
  // Without a residual condition, a projection of plain columns over an append-only join may
  // become its combine (join-projection.ts); the row is built through `joined` then.
  const projectable = appendOut && allRest.length === 0;
  let joined = combine;
  const stream = regularJoin(left, right, {
    type: joinType,
    leftKey: rawKey(eqL),
    rightKey: rawKey(eqR),
    condition:
      allRest.length === 0
        ? undefined
        : (a, b) => {
            const row = combine(a, b);
            checkedA = a;
            checkedB = b;
            checkedRow = row;
            return holds(row);
          },
    combine: projectable
      ? (a, b) => joined(a, b)
      : allRest.length === 0
        ? combine
        : (a, b) => {
            const row = checkedRow !== undefined && checkedA === a && checkedB === b ? checkedRow : combine(a, b);
            checkedRow = undefined;
            return row;
          },
    // A stored row is known by the columns the join reads of it (its side's fields).
    rowIds: [rowIdOf(l.fields.map((x) => x.key)), rowIdOf(rFrom)],
    ttlMs: ctx.ttlMs,
    expire: retention && { side: retention.side, at: retention.expiresAt },
    appendOnly: [!l.updating, !r.updating],
    columns: [l.fields.map((x) => x.key), rFrom],
    rowsOut: appendOut,
    uid,
  });
  const hashedBy = joinType === 'inner' ? joinKeyColumns(eqPairs, l, r, rFrom, rTo) : undefined;
  if (appendOut) {
    const rel: Rel = { stream, fields, updating: false, hashedBy };
    if (projectable) {
      // A joined column's side and its key there.
      const sideOf = new Map<string, PairColumn>([
        ...l.fields.map((x): [string, PairColumn] => [x.key, [x.key, 0, x.key]]),
        ...rTo.map((k, i): [string, PairColumn] => [k, [k, 1, rFrom[i]!]]),
      ]);
      offerProjection(rel, (keys, from, text) => {
        joined = pickBuilder(
          keys.map((k, i): PairColumn => {
            const [, side, column] = sideOf.get(from[i]!)!;
            return [k, side, column];
          }),
        );
        const planned = ctx.uids.nodes.find((n) => n.uid === uid);
        if (planned !== undefined) planned.detail += `; ${text}`;
        return stream;
      });
    }
    return rel;
  }
  return { stream, fields, updating: true, hashedBy, updateReason: `the regular join at line ${f.pos.line}, column ${f.pos.col}` };
}

/**
 * The columns of an inner join's output that hold its key, as the join keyed it: the left key's
 * columns, and the right's (renamed as in the joined row) when each has the left one's type, so
 * that equal values are the same JS value. Only plain column references; otherwise none.
 */
function joinKeyColumns(eqPairs: ReadonlyArray<[Expr, Expr]>, l: Rel, r: Rel, rFrom: string[], rTo: string[]): string[][] | undefined {
  const cols = (side: 0 | 1): Field[] | undefined => {
    const out: Field[] = [];
    for (const pair of eqPairs) {
      const e = pair[side];
      const field = e.k === 'ref' ? fieldOf(e, side === 0 ? l : r) : undefined;
      if (field === undefined) return undefined;
      out.push(field);
    }
    return out;
  };
  const left = cols(0);
  if (left === undefined) return undefined;
  const right = cols(1);
  const lists = [left.map((x) => x.key)];
  if (right !== undefined && right.every((x, i) => typeName(x.type) === typeName(left[i]!.type)))
    lists.push(right.map((x) => rTo[rFrom.indexOf(x.key)]!));
  return lists;
}

/** What EXPLAIN says of the join's inputs: an append-only side goes in as plain rows, a changelog side as changes. */
function inputsText(l: Rel, r: Rel): string {
  const form = (rel: Rel): string => (rel.updating ? 'changes' : 'rows');
  return `left as ${form(l)}, right as ${form(r)}`;
}

function refKey(e: Expr & { k: 'ref' }, rel: Rel): string | undefined {
  return fieldOf(e, rel)?.key;
}
