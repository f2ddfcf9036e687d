/**
 * Top-N, Flink's pattern: `SELECT … FROM (SELECT …, ROW_NUMBER() OVER (PARTITION BY … ORDER BY …)
 * AS rn FROM …) WHERE rn <= N`, planned onto sqlchange's topN (a changelog of the top rows), record by
 * record whatever `table.exec.mini-batch.*` says, as Flink's StreamExecRank; only a Top-1 over
 * inserts by one time attribute, which Flink plans as a deduplication, takes mini-batch.
 */
import type { DataStream } from '../api/datastream.js';
import type { Expr, Over, Select } from './ast.js';
import { sqlError, sqlUnsupported } from './errors.js';
import { compile, type Row } from './expressions.js';
import { copiedColumns, filter, miniBatchNote, planFromWhere, project, qualify, type PlanContext } from './plan-steps.js';
import type { Rel } from './relation.js';
import { appendOnlyTopN, topN, type ChangeRow, type TopNOptions } from './runtime/index.js';
import { generate, generated } from './codegen.js';
import type { Field } from './scope.js';
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
  if (n === undefined)
    throw sqlUnsupported(
      call.pos,
      `ROW_NUMBER() without a filter ${item.alias} <= N in the outer WHERE (only the Top-N pattern is supported)`,
    );
  if (!(n >= 1) || !Number.isInteger(n)) throw sqlError(s.where!.pos, `the Top-N bound must be a positive integer, got ${n}`);
  if (call.over!.orderBy.length === 0) throw sqlError(call.over!.pos, 'ROW_NUMBER() OVER needs ORDER BY');
  return { inner, alias: s.from.alias, over: call.over!, rnName: item.alias, rnIndex, n, rest };
}

/** Plans a Top-N. */
export function planTopN(p: TopNPattern, s: Select, ctx: PlanContext): Rel {
  const inner = p.inner;
  if (inner.groupBy.length > 0 || inner.distinct)
    throw sqlUnsupported(inner.pos, 'a Top-N over an aggregate in the same SELECT (aggregate in a subquery first)');
  const rel = planFromWhere(inner.from!, inner.where, ctx, [inner.items]);
  const scope = { fields: rel.fields };
  const parts = p.over.partitionBy.map((e) => compile(e, scope).fn);
  const orderBy = p.over.orderBy.map((o) => ({ value: generated(compile(o.e, scope).fn), desc: o.desc }));
  const partitionBy = parts.length === 0 ? () => 0 : parts.length === 1 ? parts[0]! : (row: Row) => parts.map((f) => f(row));
  const wantsRn = s.items.some((it) => it.e.k === 'star' || refersTo(it.e, p.rnName));
  const partitioned = partitionedBy(rel, p.over.partitionBy);
  // Flink plans a Top-1 over inserts by one time attribute as a deduplication, which (unlike its ranks) takes mini-batch.
  const order = p.over.orderBy;
  const dedup =
    p.n === 1 && !rel.updating && order.length === 1 && order[0]!.e.k === 'ref' && fieldOf(order[0]!.e, rel)?.key === rel.rowtime;
  const uid = ctx.uids.next(
    'rank',
    `Top-${p.n} by ROW_NUMBER() (${rel.updating ? 'changelog input' : p.n === 1 ? 'append-only input, one row per partition' : 'append-only input'}${partitioned ? ', chained: the input is partitioned by its PARTITION BY' : ''}${dedup ? ', a deduplication by its time attribute' + (miniBatchNote(ctx) || ', per record') : ', per record'})`,
  );
  // The inner select list; ROW_NUMBER() becomes the rank column the operator fills in (not a
  // field of its own, so that the inner * does not list it). When it only copies columns (q9,
  // q19), the rank builds its rows itself: no calc copies each change.
  const items = inner.items.filter((_, i) => i !== p.rnIndex);
  const rnRef: Expr = { k: 'ref', parts: ['$rn'], pos: p.over.pos };
  if (wantsRn) items.splice(p.rnIndex, 0, { e: rnRef, alias: p.rnName });
  const innerScope = { fields: rel.fields, computed: new Map([[exprKey(rnRef), { name: '$rn', key: '$rn', type: T.BIGINT }]]) };
  const copies = copiedColumns(items, innerScope);
  const folded = copies && rankedRowOf(copies.columns);
  const opts: TopNOptions = {
    partitionBy,
    orderBy,
    compare: comparatorOf(orderBy),
    sameRow: sameRowOf(rel.fields),
    output: folded ?? (wantsRn ? rankedRowOf([...rel.fields.map((f): [string, string] => [f.key, f.key]), ['$rn', '$rn']]) : undefined),
    n: p.n,
    rowNumberColumn: wantsRn ? '$rn' : undefined,
    ttlMs: ctx.ttlMs,
    miniBatch: dedup ? ctx.miniBatch : undefined,
    partitioned,
    uid,
  };
  // An append-only input goes in as plain rows (Flink's AppendOnlyTopNFunction): the same state as a changelog of inserts.
  const stream = rel.updating ? topN(rel.stream as DataStream<ChangeRow>, opts) : appendOnlyTopN(rel.stream as DataStream<Row>, opts);
  let ranked: Rel = {
    stream,
    fields: folded ? copies!.fields : rel.fields,
    updating: true,
    updateReason: `the Top-N (ROW_NUMBER) at line ${p.over.pos.line}, column ${p.over.pos.col}`,
  };
  if (!folded) ranked = project(ranked, items, ctx, innerScope);
  if (p.alias) ranked = qualify(ranked, p.alias);
  for (const c of p.rest) ranked = filter(ranked, c, ctx);
  return project(ranked, s.items, ctx);
}

/**
 * The ORDER BY as one generated comparator, as the runtime's comparatorOf orders (nulls first
 * ascending, last descending; values by < and >). Each sort value is read by its own generated
 * function, so a memoized local of one row is never read for the other.
 */
function comparatorOf(fields: ReadonlyArray<{ value: (row: Row) => unknown; desc?: boolean }>): (a: Row, b: Row) => number {
  return generate<(a: Row, b: Row) => number>('a, b', (b) => {
    const isNull = (v: string): string => `(${v} === null || ${v} === undefined)`;
    const steps = fields.map((f) => {
      const get = b.bind(f.value);
      const [lt, gt] = f.desc ? ['1', '-1'] : ['-1', '1'];
      const nullFirst = f.desc ? '1' : '-1';
      return `x = ${get}(a); y = ${get}(b);
        if (${isNull('x')} || ${isNull('y')}) { if (!${isNull('x')}) return ${-nullFirst}; if (!${isNull('y')}) return ${nullFirst}; }
        else if (x < y) return ${lt}; else if (x > y) return ${gt};`;
    });
    return `let x, y; ${steps.join(' ')} return 0;`;
  }).fn;
}

/** Two values equal for a rank's update: ===, NaN equals NaN, null equals undefined, objects by JSON. */
function sameValue(x: unknown, y: unknown): boolean {
  if (x === y) return true;
  if (typeof x === 'number' && typeof y === 'number') return x !== x && y !== y;
  if (typeof x !== 'object' || typeof y !== 'object') return (x ?? null) === (y ?? null);
  return JSON.stringify(x ?? null) === JSON.stringify(y ?? null);
}

/** Rows of a relation equal by value in every field, generated (the runtime's default lists and sorts a row's keys into a string). */
function sameRowOf(fields: readonly Field[]): (a: Row, b: Row) => boolean {
  return generate<(a: Row, b: Row) => boolean>('a, b', (b) => {
    const same = b.bind(sameValue);
    const parts = fields.map((f) => {
      const k = JSON.stringify(f.key);
      return `(a[${k}] === b[${k}] || ${same}(a[${k}], b[${k}]))`;
    });
    return `return ${parts.join(' && ') || 'true'};`;
  }).fn;
}

/**
 * The output row of a ranked row, as one generated object literal (a spread with a computed key
 * changes shape per row): each `[key, from]` copies column `from`, or the rank for '$rn'.
 */
function rankedRowOf(columns: ReadonlyArray<readonly [string, string]>): ((row: Row, rank: number) => Row) | undefined {
  if (columns.some(([k]) => k === '__proto__')) return undefined;
  return generate<(row: Row, rank: number) => Row>(
    'r, rank',
    () =>
      `return { ${columns.map(([k, from]) => `${JSON.stringify(k)}: ${from === '$rn' ? 'rank' : `r[${JSON.stringify(from)}]`}`).join(', ')} };`,
  ).fn;
}

/** True when `rel` is already partitioned by exactly these columns in this order (Rel.hashedBy). */
function partitionedBy(rel: Rel, exprs: readonly Expr[]): boolean {
  if (rel.hashedBy === undefined || exprs.length === 0) return false;
  const keys = exprs.map((e) => (e.k === 'ref' ? fieldOf(e, rel)?.key : undefined));
  return rel.hashedBy.some((cols) => cols.length === keys.length && cols.every((c, i) => c === keys[i]));
}

function refersTo(e: Expr, name: string): boolean {
  return JSON.stringify(e, (k, v) => (k === 'pos' ? undefined : v))
    .toLowerCase()
    .includes(`"${name.toLowerCase()}"`);
}
