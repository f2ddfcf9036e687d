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
import { settled } from './calc.js';
import { allTrue } from './codegen.js';
import { pruned } from './join-prune.js';
import { pairBuilder } from './row-builder.js';
import { sqlError, sqlUnsupported } from './errors.js';
import { compile, type Compiled, type Row } from './expressions.js';
import { exprText, planFrom, type PlanContext } from './planner.js';
import type { Rel } from './relation.js';
import type { Field } from './scope.js';
import { coerce, comparable, typeName } from './types.js';
import type { TableDef } from './catalog.js';

/** Plans `l JOIN r FOR SYSTEM_TIME AS OF … ON …` where `r` is a table. */
export function planLookupJoin(f: FromItem & { k: 'join' }, r: FromItem & { k: 'table' }, ctx: PlanContext, refs?: Parameters<typeof pruned>[1]): Rel {
  if (f.type !== 'inner' && f.type !== 'left') throw sqlUnsupported(f.pos, `a ${f.type.toUpperCase()} lookup join (only JOIN and LEFT JOIN … FOR SYSTEM_TIME AS OF)`);
  const table = ctx.catalog.table(r.name, r.pos);
  const l = settled(pruned(planFrom(f.l, ctx), refs, ctx.uids));
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
  const fields = [...l.fields, ...rightFields];

  const eqL: Compiled[] = [];
  const eqR: Compiled[] = [];
  const rest: Expr[] = [];
  for (const c of conjuncts(f.on)) {
    if (c.k === 'binary' && c.op === '=') {
      const lr = resolves(c.l, l.fields) && resolves(c.r, tableFields);
      const rl = resolves(c.l, tableFields) && resolves(c.r, l.fields);
      if (lr || rl) {
        const a = compile(lr ? c.l : c.r, { fields: l.fields });
        const b = compile(lr ? c.r : c.l, { fields: tableFields });
        if (!comparable(a.type, b.type)) throw sqlError(c.pos, `cannot compare ${typeName(a.type)} with ${typeName(b.type)}`);
        eqL.push(a);
        eqR.push(b);
        continue;
      }
    }
    rest.push(c);
  }
  if (eqL.length === 0) throw sqlError(f.pos, `a lookup join needs an equality between the left side and a column of '${r.name}' in ON`);
  const residual = allTrue(rest.map((e) => compile(e, { fields }).fn));

  const path = lookupPath(table, r);
  const read = tableReader(table);
  const lKeys = l.fields.map((x) => x.key);
  const rFrom = tableFields.map((x) => x.key);
  const rTo = rightFields.map((x) => x.key);
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
  let index: Map<unknown, Row[]> | undefined;
  const load = (): Map<unknown, Row[]> => {
    const m = new Map<unknown, Row[]>();
    for (const row of read(path)) {
      const k = keyOf(eqR, row);
      if (k !== undefined) (m.get(k) ?? m.set(k, []).get(k)!).push(row);
    }
    return m;
  };
  const combine = pairBuilder(lKeys, rFrom, rTo);
  const on = f.on === undefined ? '' : exprText(f.on);
  const stream = (l.stream as DataStream<Row>).flatMap<Row>((row, out) => {
    index ??= load();
    const k = keyOf(eqL, row);
    let matched = false;
    for (const s of (k === undefined ? undefined : index.get(k)) ?? []) {
      const joined = combine(row, s);
      if (residual(joined)) {
        matched = true;
        out.collect(joined);
      }
    }
    if (!matched && left) out.collect(combine(row, null));
  }).uid(ctx.uids.next('join', `lookup join ${r.name} on ${on}`));
  return { stream, fields, updating: false, rowtime: l.rowtime };
}

function lookupPath(t: TableDef, r: { name: string; pos: { line: number; col: number } }): string {
  if ((t.options.connector ?? '') !== 'filesystem' || t.options.path === undefined) {
    throw sqlUnsupported(r.pos, `a lookup join on '${r.name}' (connector '${t.options.connector}'): only a bounded 'filesystem' table can be looked up`);
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
    const lines = readFileSync(path, 'utf8').split('\n').filter((x) => x.trim() !== '');
    if (csv && skipFirst) lines.shift();
    return lines.map((line) => {
      const raw: Record<string, unknown> = csv ? Object.fromEntries(line.replace(/\r$/, '').split(sep).map((v, i) => [cols[i]?.name, v])) : (JSON.parse(line) as Record<string, unknown>);
      const o: Row = {};
      for (const c of cols) o[c.name] = coerce(raw[c.name] === '' && csv ? null : raw[c.name], c.type);
      return o;
    });
  };
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
