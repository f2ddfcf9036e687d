/**
 * Lookup joins, `JOIN t FOR SYSTEM_TIME AS OF L.proc_time AS S ON L.x = S.key`, over a bounded
 * filesystem table (json or csv): each subtask reads the table once, on its first row, into a
 * map from the equality key to its rows, and looks every left row up there. As in Flink's lookup
 * join on a processing-time attribute only "as of now" matters, and the file never changes while
 * the job runs, so the result does not depend on the clock. An inner join drops a left row
 * without a match; a LEFT join pads the table's columns with NULLs.
 */
import { readFileSync } from 'node:fs';

import type { DataStream } from '../api/datastream.js';
import type { Expr, FromItem } from './ast.js';
import { calcOf, failsJs, pendingCalc, resetJs, settled, stampedLocal, type Calc } from './calc.js';
import { allTrue, generate, jsOf, readJs } from './codegen.js';
import type { FlatMapFunction } from '../contract/functions.js';
import { pruned, refsOf } from './join-prune.js';
import { pairBuilder } from './row-builder.js';
import { sqlError, sqlUnsupported } from './errors.js';
import { compile, type Compiled, type Row } from './expressions.js';
import { exprText, type PlanContext } from './plan-steps.js';
import type { Rel } from './relation.js';
import { resolveRef, type Field } from './scope.js';
import { coerce, comparable, typeName } from './types.js';
import type { TableDef } from './catalog.js';

/** Plans `l JOIN r FOR SYSTEM_TIME AS OF … ON …` where `r` is a table. */
export function planLookupJoin(
  f: FromItem & { k: 'join' },
  r: FromItem & { k: 'table' },
  ctx: PlanContext,
  refs?: Parameters<typeof pruned>[1],
): Rel {
  if (f.type !== 'inner' && f.type !== 'left')
    throw sqlUnsupported(f.pos, `a ${f.type.toUpperCase()} lookup join (only JOIN and LEFT JOIN … FOR SYSTEM_TIME AS OF)`);
  const table = ctx.catalog.table(r.name, r.pos);
  const unsettled = pruned(ctx.planFrom(f.l, ctx), refs, ctx.uids);
  // An append-only left side with a pending calc (q13's bid view) is fused into the lookup.
  const pendingLeft = pendingCalc(unsettled);
  const fusedLeft =
    pendingLeft !== undefined && !pendingLeft.updating && !pendingLeft.asInserts && !unsettled.updating
      ? calcOf(unsettled, ctx.uids)
      : undefined;
  const l = fusedLeft === undefined ? settled(unsettled) : unsettled;
  const alias = r.alias ?? r.name;
  const leftKeys = new Set(l.fields.map((x) => x.key));
  const physical = table.columns.filter((c) => c.computed === undefined);
  const rightFields: Field[] = physical.map((c) => {
    let key = c.name;
    for (let i = 1; leftKeys.has(key); i++) key = `${c.name}$${i}`;
    leftKeys.add(key);
    return { name: c.name, qual: alias, key, type: c.type };
  });
  const tableFields: Field[] = physical.map((c) => ({ name: c.name, qual: alias, key: c.name, type: c.type }));
  const all = [...l.fields, ...rightFields];

  const eqL: Compiled[] = [];
  const consumed: Expr[] = [];
  const eqR: Compiled[] = [];
  const rest: Expr[] = [];
  for (const c of conjuncts(f.on)) {
    if (c.k === 'binary' && c.op === '=') {
      const lr = resolves(c.l, l.fields) && resolves(c.r, tableFields);
      const rl = resolves(c.l, tableFields) && resolves(c.r, l.fields);
      if (lr || rl) {
        const a = compile(lr ? c.l : c.r, { fields: fusedLeft?.fields ?? l.fields });
        const b = compile(lr ? c.r : c.l, { fields: tableFields });
        if (!comparable(a.type, b.type)) throw sqlError(c.pos, `cannot compare ${typeName(a.type)} with ${typeName(b.type)}`);
        eqL.push(a);
        eqR.push(b);
        consumed.push(c);
        continue;
      }
    }
    rest.push(c);
  }
  if (eqL.length === 0) throw sqlError(f.pos, `a lookup join needs an equality between the left side and a column of '${r.name}' in ON`);
  const residual = allTrue(rest.map((e) => compile(e, { fields: all }).fn));
  const read = unreadRight(refs, consumed, all);
  const keptRight = rightFields.filter((x) => read?.has(x.key) !== false);
  const fields = [...l.fields, ...keptRight];

  const path = lookupPath(table, r);
  const readTable = tableReader(table);
  const lKeys = l.fields.map((x) => x.key);
  const rFrom = keptRight.map((x) => tableFields[rightFields.indexOf(x)]!.key);
  const rTo = keptRight.map((x) => x.key);
  const left = f.type === 'left';
  // One key column is looked up by its value (a Map compares numbers and strings by value), several by a string of them.
  const keyOf = (fns: Compiled[], row: Row): unknown => {
    if (fns.length === 1) return fns[0]!.fn(row) ?? undefined; // = is never true for NULL
    let k = '';
    for (const c of fns) {
      const v = c.fn(row);
      if (v === null || v === undefined) return undefined;
      k += `${typeof v === 'number' ? v : JSON.stringify(v)}\u0000`;
    }
    return k;
  };
  const load = (): Map<unknown, Row[]> => {
    const m = new Map<unknown, Row[]>();
    for (const row of readTable(path)) {
      const k = keyOf(eqR, row);
      if (k !== undefined) (m.get(k) ?? m.set(k, []).get(k)!).push(row);
    }
    return m;
  };
  const on = f.on === undefined ? '' : exprText(f.on);
  const uid = ctx.uids.next(
    'join',
    `lookup join ${r.name} on ${on}${fusedLeft === undefined ? '' : `; left side: ${fusedLeft.calc.detail.join('; ')}`}`,
  );
  const index = (): Map<unknown, Row[]> => (loaded ??= load());
  let loaded: Map<unknown, Row[]> | undefined;
  if (fusedLeft !== undefined) {
    const fn = lookupFunction(fusedLeft.calc, fusedLeft.fields, lKeys, rFrom, rTo, {
      index,
      key: (row) => keyOf(eqL, row),
      single: eqL.length === 1 ? eqL[0]!.fn : undefined,
      residual: rest.length === 0 ? undefined : residual,
      left,
    });
    const stream = (fusedLeft.calc.input as DataStream<Row>).flatMap<Row>(fn).uid(uid);
    return { stream, fields, updating: false, rowtime: l.rowtime };
  }
  const combine = pairBuilder(lKeys, rFrom, rTo);
  const stream = (l.stream as DataStream<Row>)
    .flatMap<Row>((row, out) => {
      const k = keyOf(eqL, row);
      let matched = false;
      for (const s of (k === undefined ? undefined : index().get(k)) ?? []) {
        const joined = combine(row, s);
        if (residual(joined)) {
          matched = true;
          out.collect(joined);
        }
      }
      if (!matched && left) out.collect(combine(row, null));
    })
    .uid(uid);
  return { stream, fields, updating: false, rowtime: l.rowtime };
}

/** What the generated lookup reads: the table's index, the key of a row, and the join's conditions on joined rows. */
interface Lookup {
  index: () => Map<unknown, Row[]>;
  /** The key of a row of the calc's input (undefined: NULL, matches nothing). */
  key: (row: Row) => unknown;
  /** The single key expression, written inline. */
  single?: (row: Row) => unknown;
  residual?: (row: Row) => boolean;
  left: boolean;
}

/**
 * The lookup join with its left side's pending calc fused in (calc.ts), generated as one
 * function: the calc's conditions, the key, and each joined row built from the calc's input row
 * and the table's row as one object literal. The left side's own row is never built: q13 made
 * three objects per bid (the bid view's row, the joined row, the projection) where the
 * DataStream job makes one.
 */
function lookupFunction(
  calc: Calc,
  lFields: readonly Field[],
  lKeys: readonly string[],
  rFrom: readonly string[],
  rTo: readonly string[],
  lk: Lookup,
): FlatMapFunction<Row, Row> {
  return generate<FlatMapFunction<Row, Row>>(
    'x, o, ctx',
    (b) => {
      const fails = failsJs(b, calc);
      const key = lk.single === undefined ? `${b.bind(lk.key)}(r)` : `(${jsOf(lk.single)(b, 'r')} ?? undefined)`;
      const leftCols = lFields.map(
        (f, i) => `${JSON.stringify(lKeys[i])}: ${f.get === undefined ? readJs('r', f.key, []) : jsOf(f.get)(b, 'r')}`,
      );
      const joined = (s: string): string =>
        `({ ${[...leftCols, ...rTo.map((k, i) => `${JSON.stringify(k)}: ${s === 'null' ? 'null' : `${s}[${JSON.stringify(rFrom[i])}]`}`)].join(', ')} })`;
      const residual = lk.residual === undefined ? '' : `if (${b.bind(lk.residual)}(j) !== true) continue;`;
      const body = `${fails ? `if (${fails}) return;` : ''}
      const k = ${key};
      const ms = k === undefined ? undefined : ${b.bind(lk.index)}().get(k);
      let matched = false;
      if (ms !== undefined) for (let i = 0; i < ms.length; i++) { const s = ms[i]; const j = ${joined('s')}; ${residual} matched = true; o.collect(j); }
      ${lk.left ? `if (!matched) o.collect(${joined('null')});` : ''}`;
      return `const r = x; ${resetJs(b, calc)} ${body}`;
    },
    stampedLocal(calc),
  ).fn;
}

function lookupPath(t: TableDef, r: { name: string; pos: { line: number; col: number } }): string {
  if ((t.options.connector ?? '') !== 'filesystem' || t.options.path === undefined) {
    throw sqlUnsupported(
      r.pos,
      `a lookup join on '${r.name}' (connector '${t.options.connector}'): only a bounded 'filesystem' table can be looked up`,
    );
  }
  return t.options.path;
}

/** Reads all rows of a json-lines or csv file as the table's columns. */
function tableReader(t: TableDef): (path: string) => Row[] {
  const cols = t.columns.filter((c) => c.computed === undefined);
  const csv = t.options.format === 'csv';
  const sep = t.options['csv.field-delimiter'] ?? ',';
  const skipFirst = t.options['csv.ignore-first-line'] === 'true';
  return (path) => {
    const lines = readFileSync(path, 'utf8')
      .split('\n')
      .filter((x) => x.trim() !== '');
    if (csv && skipFirst) lines.shift();
    return lines.map((line) => {
      const raw: Record<string, unknown> = csv
        ? Object.fromEntries(
            line
              .replace(/\r$/, '')
              .split(sep)
              .map((v, i) => [cols[i]?.name, v]),
          )
        : (JSON.parse(line) as Record<string, unknown>);
      const o: Row = {};
      for (const c of cols) o[c.name] = coerce(raw[c.name] === '' && csv ? null : raw[c.name], c.type);
      return o;
    });
  };
}

/**
 * The joined columns read other than by the equalities the lookup consumes (`consumed`), by the
 * references of the ON, the WHERE and the query over the join (`refs`): a table column read
 * only as the lookup key (q13's S.key) is left out of the joined row, so a projection of the
 * other columns is the row itself. Undefined (keep every column) without `refs`, with a `*`, or
 * when a reference does not resolve to one column.
 */
function unreadRight(
  refs: ReadonlyArray<Expr & { k: 'ref' | 'star' }> | undefined,
  consumed: readonly Expr[],
  all: readonly Field[],
): Set<string> | undefined {
  if (refs === undefined) return undefined;
  const n = new Map<string, number>();
  const count = (rs: ReadonlyArray<Expr & { k: 'ref' | 'star' }>, by: number): boolean => {
    for (const e of rs) {
      if (e.k === 'star') return false;
      let key: string;
      try {
        key = resolveRef(all, e).key;
      } catch {
        return false;
      }
      n.set(key, (n.get(key) ?? 0) + by);
    }
    return true;
  };
  if (!count(refs, 1) || !count(refsOf(consumed), -1)) return undefined;
  return new Set([...n].flatMap(([k, c]) => (c > 0 ? [k] : [])));
}

function conjuncts(e: Expr | undefined): Expr[] {
  if (e === undefined) return [];
  if (e.k === 'binary' && e.op === 'AND') return [...conjuncts(e.l), ...conjuncts(e.r)];
  return [e];
}

/** True when every column `e` names resolves in `fields`. */
function resolves(e: Expr, fields: Field[]): boolean {
  try {
    compile(e, { fields });
    return true;
  } catch {
    return false;
  }
}
