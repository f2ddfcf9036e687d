/**
 * Calc fusion (Flink's FlinkCalcMergeRule): a scan's computed columns, a WHERE and a
 * projection are not each an operator building its own row. A relation may carry a pending
 * calc — conditions and output columns as functions of the row of the stream under it — and
 * the next filter or projection composes onto it. Only when something else reads the
 * relation's stream does the calc become ONE operator: its conditions run first, in order, and
 * only a row they all accept is built, as one object literal.
 *
 * A computed output column (not a plain copy) is memoized per record, so a column a later
 * WHERE and SELECT both use runs once, and not at all for a row an earlier condition drops.
 * Also here: narrowing a relation to the columns an aggregate reads (projection push-down), and
 * extending it by columns filled later (a window TVF's), both staying pending.
 */
import type { DataStream, SingleOutputStreamOperator } from '../api/datastream.js';
import type { FilterFunction, FlatMapFunction, MapFunction } from '../contract/functions.js';
import type { Row } from './expressions.js';
import type { AnyStream, Rel } from './relation.js';
import type { Field } from './scope.js';
import { generate, jsOf, withJs, type Binder } from './codegen.js';
import { columnFn, rowJs, type ColumnFn } from './row-builder.js';
import { insertOnly } from './runtime/changelog.js';
import type { UidNamer } from './uids.js';
import { EddyError } from '../failure.js';
import { forget, isDropped, nodeOf, record } from './lineage.js';
import { filterOperator, flatMapOperator, mapOperator } from '../operators/basic.js';

type RowFn = (row: Row) => unknown;

/** One computed column's value for the record being processed (reset as each record starts). */
export class Memo {
  row: Row | undefined = undefined;
  value: unknown = undefined;
}

/** Conditions and output columns over the rows of `input`, not yet an operator. */
export interface Calc {
  input: AnyStream;
  /** True when `input` carries ChangeRow (conditions and columns apply to `.row`). */
  updating: boolean;
  /** Each must be TRUE for a row to pass (NULL and FALSE drop it), evaluated in this order. */
  conds: RowFn[];
  /** The output row's columns (aligned with the relation's fields); undefined: the input row itself. */
  columns?: ColumnFn[];
  memos: Memo[];
  /**
   * The memo of the column the source's timestamp assigner computed (the scan's WATERMARK FOR
   * column): filled from the record's timestamp instead of evaluated again (NaN: NULL). Only
   * on a calc whose input is the source itself.
   */
  stamped?: Memo;
  /** What EXPLAIN prints for the operator. */
  detail: string[];
  /** How to build the operator when nothing was composed onto the calc (the scan's in-place columns). */
  direct?: () => AnyStream;
  /** The statement's uids (the operator's uid is taken when it is built). */
  uids: UidNamer;
  /** Emits each output row as an insert change `{ kind: '+I', row }` (the input of a changelog operator). */
  asInserts?: boolean;
}

const pending = new WeakMap<Rel, Calc>();
/** The operator a calc became: relations sharing a calc (a view read twice, re-qualified) share it. */
const built = new WeakMap<Calc, AnyStream>();

/** `rel` with its pending calc built into an operator now, so EXPLAIN lists it before its consumer's. */
export function settled(rel: Rel): Rel {
  void rel.stream;
  return rel;
}

/** The relation's pending calc, if it has one. */
export function pendingCalc(rel: Rel): Calc | undefined {
  return pending.get(rel);
}

/** The relation's fields as composable accessors over the rows under its calc (a calc started if none is pending). */
export function calcOf(rel: Rel, uids: UidNamer): { calc: Calc; fields: Field[] } {
  const calc = pending.get(rel) ?? { input: rel.stream, updating: rel.updating, conds: [], memos: [], detail: [], uids };
  const fields = rel.fields.map((f, i): Field => {
    const c = calc.columns?.[i];
    // A plain read of an input field is that field (compiled as a property read); a ROW
    // sub-field read or a computed column is an accessor over the input row.
    if (c === undefined) return f;
    if (typeof c !== 'function' && c.length === 1) return { ...f, key: c[0]!, get: undefined };
    return { ...f, get: columnFn(c) };
  });
  return { calc, fields };
}

/** A column function memoized per record (its memo added to `memos`, which the operator resets per record). */
export function memoized(fn: RowFn, memos: Memo[]): RowFn {
  const m = new Memo();
  memos.push(m);
  // In a generated calc the memo is a local of the record's call, computed on first read.
  return withJs(
    (r: Row) => {
      if (m.row === r) return m.value;
      m.value = fn(r);
      m.row = r;
      return m.value;
    },
    (b, row) => b.lazy(m, () => jsOf(fn)(b, row)),
  );
}

/** A relation whose stream is `calc`, built into an operator the first time the stream is read. */
export function pendingRel(props: Omit<Rel, 'stream'>, calc: Calc): Rel {
  const rel = { ...props } as Rel;
  let assigned: AnyStream | undefined;
  Object.defineProperty(rel, 'stream', {
    enumerable: true,
    configurable: true,
    get: () => {
      if (assigned) return assigned;
      let s = built.get(calc);
      // Built before a join-back fusion took its operator out (join-back.ts): built again.
      if (s === undefined || isDropped(s)) built.set(calc, (s = build(calc, rel.fields)));
      return s;
    },
    set: (s: AnyStream) => {
      pending.delete(rel);
      assigned = s;
    },
  });
  pending.set(rel, calc);
  return rel;
}

/** The stream the relation's operator is, or is to be built on (reading it builds nothing). */
export function dependsOn(rel: Rel): AnyStream {
  const calc = pending.get(rel);
  return calc === undefined ? rel.stream : (built.get(calc) ?? calc.input);
}

/** The properties of a relation other than its stream (reading them builds nothing). */
export function relProps(rel: Rel): Omit<Rel, 'stream'> {
  return {
    fields: rel.fields,
    updating: rel.updating,
    rowtime: rel.rowtime,
    window: rel.window,
    aheadOfWatermark: rel.aheadOfWatermark,
    uniqueKey: rel.uniqueKey,
    updateReason: rel.updateReason,
  };
}

/** The per-record function of a calc's operator: a map, a filter, or (both) a flatMap; none when it does nothing. */
export type CalcFunction =
  | { op: 'map'; fn: MapFunction<unknown, unknown> }
  | { op: 'filter'; fn: FilterFunction<unknown> }
  | { op: 'flatMap'; fn: FlatMapFunction<unknown, unknown> }
  | { op: 'none' };

/**
 * Generates the calc's function (codegen.ts): one per calc, the conditions and the output row
 * written inline, a memoized column a local computed on its first read in the record's call.
 */
export function calcFunction(calc: Calc, fields: readonly Field[]): CalcFunction {
  const { conds, columns, updating, asInserts } = calc;
  if (conds.length === 0 && columns === undefined && !asInserts) return { op: 'none' };
  const stamped = stampedLocal(calc);
  const text = (b: Binder, params: 'map' | 'filter' | 'flatMap'): string => {
    const test = failsJs(b, calc);
    const project =
      columns === undefined
        ? undefined
        : rowJs(
            b,
            'r',
            fields.map((f) => f.key),
            columns,
          );
    const row$ = project === undefined ? 'x' : updating ? `{ kind: x.kind, row: ${project} }` : project;
    const out = asInserts ? `{ kind: '+I', row: ${row$} }` : row$;
    // The rest first: writing it names the locals the function declares and the closures it calls.
    const rest =
      params === 'map' ? `return ${out};` : params === 'filter' ? `return !(${test});` : `if (${test}) return; o.collect(${out});`;
    return `${updating ? 'const r = x.row;' : 'const r = x;'} ${resetJs(b, calc)} ${rest}`;
  };
  if (conds.length === 0) return { op: 'map', fn: generate<MapFunction<unknown, unknown>>('x, ctx', (b) => text(b, 'map'), stamped).fn };
  if (columns === undefined && !asInserts)
    return { op: 'filter', fn: generate<FilterFunction<unknown>>('x, ctx', (b) => text(b, 'filter'), stamped).fn };
  return { op: 'flatMap', fn: generate<FlatMapFunction<unknown, unknown>>('x, o, ctx', (b) => text(b, 'flatMap'), stamped).fn };
}

/** The calc's rowtime column as a local preset from the record's timestamp, which the source's assigner computed (NaN: NULL). */
export function stampedLocal(calc: Calc): ReadonlyMap<object, (name: string) => string> {
  return new Map(calc.stamped ? [[calc.stamped, (v: string) => `let ${v} = ctx.timestamp; if (${v} !== ${v}) ${v} = null;`]] : []);
}

/** Source text true when one of the calc's conditions is not TRUE for the row `r` ('' without conditions). */
export function failsJs(b: Binder, calc: Calc): string {
  return calc.conds.map((c) => `${jsOf(c)(b, 'r')} !== true`).join(' || ');
}

/**
 * Resets the closures' memos as a record starts: a closure called as it is (no source text)
 * may read a memoized column through its closure, whose memo is keyed by the row object.
 * Written last: only then does the binder know whether the text calls such a closure.
 */
export function resetJs(b: Binder, calc: Calc): string {
  return b.calledOpaque ? calc.memos.map((m) => `${b.bind(m)}.row = undefined;`).join(' ') : '';
}

function build(calc: Calc, fields: readonly Field[]): AnyStream {
  if (calc.direct) return calc.direct();
  const f = calcFunction(calc, fields);
  if (f.op === 'none') return calc.input;
  // A calc that only filters keeps the kind (and so the uid) a lone WHERE had before fusion.
  const uid =
    f.op === 'filter'
      ? calc.uids.next('filter', calc.detail.map((d) => d.replace(/^where /, '')).join(' AND '))
      : calc.uids.next('calc', calc.detail.join('; '));
  if (isDropped(calc.input)) throw new EddyError('INTERNAL', `the SQL planner built ${uid} on an operator the join-back fusion took out`);
  const input = calc.input as DataStream<unknown>;
  const stream: SingleOutputStreamOperator<unknown> =
    f.op === 'map' ? input.map(f.fn) : f.op === 'filter' ? input.filter(f.fn) : input.flatMap(f.fn);
  if (!calc.updating && calc.stamped === undefined)
    record(stream, {
      k: 'calc',
      input: calc.input,
      apply: rowFunction(f),
      copyOf: copiesOf(calc.columns, fields),
      filters: calc.conds.length > 0,
      keys: calc.columns === undefined ? undefined : fields.map((f) => f.key),
    });
  return stream.uid(uid).name('sql:calc');
}

/** A calc's function called on one row (no timestamp: only a calc reading none is recorded). */
function rowFunction(f: CalcFunction): (row: Row) => Row | undefined {
  const ctx = undefined as never;
  switch (f.op) {
    case 'map':
      return (row) => f.fn(row, ctx) as Row;
    case 'filter':
      return (row) => (f.fn(row, ctx) ? row : undefined);
    case 'flatMap': {
      let kept: Row | undefined;
      const out = { collect: (r: unknown) => void (kept = r as Row) };
      return (row) => {
        kept = undefined;
        f.fn(row, out, ctx);
        return kept;
      };
    }
    case 'none':
      return (row) => row;
  }
}

/** Which input column each output column copies: a plain read of a top-level column (or the whole row kept). */
export function copiesOf(columns: readonly ColumnFn[] | undefined, fields: readonly Field[]): (key: string) => string | undefined {
  if (columns === undefined) return (key) => key;
  const m = new Map<string, string>();
  columns.forEach((c, i) => {
    if (typeof c !== 'function' && c.length === 1) m.set(fields[i]!.key, c[0]!);
  });
  return (key) => m.get(key);
}

/**
 * The rows of `rel` (append-only) as insert changes for a changelog operator: the wrapping is
 * composed onto the pending calc, so the side of a join, a GROUP BY's or a Top-N's input is
 * one operator and one object per row, not a calc and then a map. A calc already built (read
 * by another consumer) is left as it is and a map wraps its rows.
 */
export function insertChanges(rel: Rel, uids: UidNamer, text: string): AnyStream {
  const calc = pending.get(rel);
  if (calc === undefined || calc.updating) return insertOnly(rel.stream as DataStream<Row>, { uid: uids.next('calc', text) });
  const wrapped: Calc = { ...calc, asInserts: true, detail: [...calc.detail, text], direct: undefined };
  const stream = built.get(calc);
  if (stream === undefined) return pendingRel(relProps(rel), wrapped).stream;
  return calc.direct === undefined && rebuiltInPlace(calc, stream, wrapped, rel.fields)
    ? stream
    : insertOnly(stream as DataStream<Row>, { uid: uids.next('calc', text) });
}

/**
 * Makes the operator `stream` that `calc` was built into run `wrapped` instead, when nothing
 * reads the stream yet. A join builds its left side before planning the right (so uids keep
 * planning order), and that side's rows become insert changes only afterwards: without this
 * they went through a second operator, one more call and row hand-over per record (every bid
 * of Nexmark q20). The operator keeps its uid; a later reader of `calc` builds it anew.
 */
function rebuiltInPlace(calc: Calc, stream: AnyStream, wrapped: Calc, fields: readonly Field[]): boolean {
  const node = nodeOf(stream);
  if (node === undefined || node.outputs.length > 0 || isDropped(stream)) return false;
  const f = calcFunction(wrapped, fields);
  if (f.op === 'none') return false;
  node.kind = f.op;
  node.factory = f.op === 'map' ? mapOperator(f.fn) : f.op === 'filter' ? filterOperator(f.fn) : flatMapOperator(f.fn);
  forget(stream);
  built.delete(calc);
  built.set(wrapped, stream);
  const planned = calc.uids.nodes.find((n) => n.uid === node.uid);
  if (planned !== undefined) planned.detail = wrapped.detail.join('; ');
  return true;
}

/** Narrowed calcs per calc (or per stream, for a relation without one) and kept keys: one operator for equal narrowings. */
const narrowings = new WeakMap<object, Map<string, Calc>>();

/**
 * `rel` with only the fields whose keys are in `keep` (Flink's projection push-down): an
 * aggregate keyed across threads serializes every column it is sent, and the Nexmark bid's
 * url and extra strings are most of a record. Keys stay the same, so expressions compiled
 * over `rel` still apply; the narrowing composes onto the pending calc.
 */
export function narrowed(rel: Rel, keep: ReadonlySet<string>, uids: UidNamer): Rel {
  const idx = rel.fields.flatMap((f, i) => (keep.has(f.key) ? [i] : []));
  if (idx.length === rel.fields.length) return rel;
  const owner: object = pending.get(rel) ?? rel.stream;
  const fields = idx.map((i) => rel.fields[i]!);
  const id = fields.map((f) => f.key).join('\u0000');
  const known = narrowings.get(owner) ?? narrowings.set(owner, new Map()).get(owner)!;
  let calc = known.get(id);
  if (calc === undefined) {
    const base = calcOf(rel, uids).calc;
    const columns = idx.map((i) => base.columns?.[i] ?? [rel.fields[i]!.key]);
    known.set(id, (calc = withColumns(base, columns, base.memos, `keep ${fields.map((f) => f.name).join(', ')}`)));
  }
  const props = relProps(rel);
  const ahead = props.aheadOfWatermark && Object.fromEntries(Object.entries(props.aheadOfWatermark).filter(([k]) => keep.has(k)));
  return pendingRel(
    {
      ...props,
      fields,
      rowtime: props.rowtime !== undefined && keep.has(props.rowtime) ? props.rowtime : undefined,
      aheadOfWatermark: ahead,
      uniqueKey: props.uniqueKey?.every((k) => keep.has(k)) ? props.uniqueKey : undefined,
    },
    calc,
  );
}

/** Calcs with columns added, per calc and added keys (a window TVF read twice extends its input once). */
const extensions = new WeakMap<Calc, Map<string, Calc>>();

/**
 * A relation over the rows of `rel` with `fields` (rel's, then columns the rows do not hold
 * yet, NULL until an operator fills them: a window TVF's window_start …), still pending.
 */
export function extended(rel: Rel, props: Omit<Rel, 'stream'>): Rel {
  const calc = pending.get(rel);
  if (calc === undefined) return { stream: rel.stream, ...props };
  const added = props.fields.slice(rel.fields.length).map((f) => f.key);
  const id = added.join('\u0000');
  const known = extensions.get(calc) ?? extensions.set(calc, new Map()).get(calc)!;
  let ext = known.get(id);
  if (ext === undefined)
    known.set(id, (ext = { ...calc, columns: [...(calc.columns ?? rel.fields.map((f) => [f.key])), ...added.map((k) => [k])] }));
  return pendingRel(props, ext);
}

/** `calc` with one more condition. */
export function withCondition(calc: Calc, cond: RowFn, text: string): Calc {
  return { ...calc, conds: [...calc.conds, cond], detail: [...calc.detail, `where ${text}`], direct: undefined };
}

/** `calc` with its output replaced by `columns` (functions over the calc's input rows; their memos in `memos`). */
export function withColumns(calc: Calc, columns: ColumnFn[], memos: Memo[], text: string): Calc {
  return { ...calc, columns, memos, detail: [...calc.detail, text], direct: undefined };
}
