/**
 * Top-N, Flink's pattern: `SELECT … FROM (SELECT …, ROW_NUMBER() OVER (PARTITION BY … ORDER BY …)
 * AS rn FROM …) WHERE rn <= N`, planned onto sqlchange's topN (a changelog of the top rows).
 */
import type { DataStream } from '../api/datastream.js';
import type { Expr, Over, Select } from './ast.js';
import { sqlError, sqlUnsupported } from './errors.js';
import { compile, type Row } from './expressions.js';
import { filter, miniBatchNote, planFromWhere, project, qualify, type PlanContext } from './planner.js';
import type { Rel } from './relation.js';
import { topN, type ChangeRow } from './runtime/index.js';
import { insertChanges } from './calc.js';
import { T } from './types.js';
import { exprKey, fieldOf } from './scope.js';

/** The parts of a Top-N query. */
export interface TopNPattern {
  inner: Select;
  alias?: string;
  over: Over;
  rnName: string;
  rnIndex: number;
  n: number;
  rest: Expr[];
}

function conjuncts(e: Expr | undefined): Expr[] {
  if (!e) return [];
  return e.k === 'binary' && e.op === 'AND' ? [...conjuncts(e.l), ...conjuncts(e.r)] : [e];
}

/** The Top-N pattern in `s`, if it is one. */
export function topNPattern(s: Select): TopNPattern | undefined {
  if (s.from?.k !== 'sub' || s.from.q.k !== 'select') return undefined;
  const inner = s.from.q;
  const rnIndex = inner.items.findIndex((it) => it.e.k === 'call' && it.e.over !== undefined && it.e.name === 'ROW_NUMBER');
  if (rnIndex < 0) return undefined;
  const item = inner.items[rnIndex]!;
  const call = item.e as Expr & { k: 'call' };
  if (!item.alias) throw sqlError(call.pos, 'ROW_NUMBER() OVER (…) needs an alias (AS rn) to be filtered on');
  const rnName = item.alias.toLowerCase();
  const isRn = (e: Expr): boolean => e.k === 'ref' && e.parts[e.parts.length - 1]!.toLowerCase() === rnName;
  let n: number | undefined;
  const rest: Expr[] = [];
  for (const c of conjuncts(s.where)) {
    if (c.k === 'binary' && c.r.k === 'lit' && typeof c.r.value === 'number' && isRn(c.l)) {
      if (c.op === '<=') n = c.r.value;
      else if (c.op === '<') n = c.r.value - 1;
      else if (c.op === '=' && c.r.value === 1) n = 1;
      else rest.push(c);
      continue;
    }
    rest.push(c);
  }
  if (n === undefined) throw sqlUnsupported(call.pos, `ROW_NUMBER() without a filter ${item.alias} <= N in the outer WHERE (only the Top-N pattern is supported)`);
  if (!(n >= 1) || !Number.isInteger(n)) throw sqlError(s.where!.pos, `the Top-N bound must be a positive integer, got ${n}`);
  if (call.over!.orderBy.length === 0) throw sqlError(call.over!.pos, 'ROW_NUMBER() OVER needs ORDER BY');
  return { inner, alias: s.from.alias, over: call.over!, rnName: item.alias, rnIndex, n, rest };
}

/** Plans a Top-N. */
export function planTopN(p: TopNPattern, s: Select, ctx: PlanContext): Rel {
  const inner = p.inner;
  if (inner.groupBy.length > 0 || inner.distinct) throw sqlUnsupported(inner.pos, 'a Top-N over an aggregate in the same SELECT (aggregate in a subquery first)');
  const rel = planFromWhere(inner.from!, inner.where, ctx, [inner.items]);
  const scope = { fields: rel.fields };
  const parts = p.over.partitionBy.map((e) => compile(e, scope).fn);
  const orderBy = p.over.orderBy.map((o) => ({ value: compile(o.e, scope).fn, desc: o.desc }));
  const partitionBy = parts.length === 0 ? () => 0 : parts.length === 1 ? parts[0]! : (row: Row) => parts.map((f) => f(row));
  const wantsRn = s.items.some((it) => it.e.k === 'star' || refersTo(it.e, p.rnName));
  const partitioned = partitionedBy(rel, p.over.partitionBy);
  const input: DataStream<ChangeRow> = (rel.updating ? rel.stream : insertChanges(rel, ctx.uids, 'rows as +I changes')) as DataStream<ChangeRow>;
  const uid = ctx.uids.next('rank', `Top-${p.n} by ROW_NUMBER() (${rel.updating ? 'changelog' : 'append-only'} input${partitioned ? ', chained: the input is partitioned by its PARTITION BY' : ''}${miniBatchNote(ctx)})`);
  const stream = topN(input, { partitionBy, orderBy, n: p.n, rowNumberColumn: wantsRn ? '$rn' : undefined, insertOnlyInput: !rel.updating, ttlMs: ctx.ttlMs, miniBatch: ctx.miniBatch, partitioned, uid });
  let ranked: Rel = {
    stream,
    fields: rel.fields,
    updating: true,
    updateReason: `the Top-N (ROW_NUMBER) at line ${p.over.pos.line}, column ${p.over.pos.col}`,
  };
  // The inner select list; ROW_NUMBER() becomes the rank column the operator filled in (not
  // a field of its own, so that the inner * does not list it).
  const items = inner.items.filter((_, i) => i !== p.rnIndex);
  const rnRef: Expr = { k: 'ref', parts: ['$rn'], pos: p.over.pos };
  if (wantsRn) items.splice(p.rnIndex, 0, { e: rnRef, alias: p.rnName });
  ranked = project(ranked, items, ctx, { fields: rel.fields, computed: new Map([[exprKey(rnRef), { name: '$rn', key: '$rn', type: T.BIGINT }]]) });
  if (p.alias) ranked = qualify(ranked, p.alias);
  for (const c of p.rest) ranked = filter(ranked, c, ctx);
  return project(ranked, s.items, ctx);
}

/** True when `rel` is already partitioned by exactly these columns in this order (Rel.hashedBy). */
function partitionedBy(rel: Rel, exprs: readonly Expr[]): boolean {
  if (rel.hashedBy === undefined || exprs.length === 0) return false;
  const keys = exprs.map((e) => (e.k === 'ref' ? fieldOf(e, rel)?.key : undefined));
  return rel.hashedBy.some((cols) => cols.length === keys.length && cols.every((c, i) => c === keys[i]));
}

function refersTo(e: Expr, name: string): boolean {
  return JSON.stringify(e, (k, v) => (k === 'pos' ? undefined : v)).toLowerCase().includes(`"${name.toLowerCase()}"`);
}
