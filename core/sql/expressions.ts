/**
 * Compiles an expression of the syntax tree into a closure over the runtime row, checking
 * types on the way (SQL's three-valued logic: NULL propagates, AND/OR follow Kleene).
 */
import type { Expr } from './ast.js';
import { sqlError, sqlUnsupported } from './errors.js';
import { scalarFunction, TIME_UNITS } from './scalar-functions.js';
import { exprKey, resolveRef, type Field } from './scope.js';
import { comparable, coerce, isInteger, isNumeric, resolveType, T, toMillis, typeName, widen, type SqlType } from './types.js';
import {
  additionType,
  asDecimal,
  decimalAdd,
  decimalCast,
  decimalDivide,
  decimalLiteralType,
  decimalModulo,
  decimalMultiply,
  divisionType,
  moduloType,
  multiplicationType,
} from './decimal.js';
import { constJs, jsOf, readJs, shared, withJs, type Js } from './codegen.js';

/** A row as the runtime carries it: a plain object keyed by field key. */
export type Row = Record<string, unknown>;

/** A compiled expression: its value for a row, and its type. */
export interface Compiled {
  fn: (row: Row) => unknown;
  type: SqlType;
}

/** The aggregate functions (planned by the aggregation, never compiled as scalars). */
export const AGGREGATES = new Set(['COUNT', 'SUM', 'AVG', 'MIN', 'MAX']);

/** What an expression is compiled against: the fields, and already-computed subexpressions (aggregates, group keys). */
export interface ExprScope {
  fields: readonly Field[];
  computed?: ReadonlyMap<string, Field>;
}

/** Compiles `e` over `scope`. */
export function compile(e: Expr, scope: ExprScope): Compiled {
  const pre = scope.computed?.get(exprKey(e));
  if (pre !== undefined) {
    const key = pre.key;
    return {
      fn: withJs(
        (r: Row) => r[key],
        (_, row) => `${row}[${JSON.stringify(key)}]`,
      ),
      type: pre.type,
    };
  }
  switch (e.k) {
    case 'lit':
      return {
        fn: withJs(
          () => e.value,
          (b) => constJs(b, e.value),
        ),
        type:
          e.value === null
            ? T.NULL
            : typeof e.value === 'number'
              ? ((e.text !== undefined ? decimalLiteralType(e.text) : undefined) ??
                (Number.isInteger(e.value) ? (Math.abs(e.value) > 2_147_483_647 ? T.BIGINT : T.INT) : T.DECIMAL))
              : typeof e.value === 'boolean'
                ? T.BOOLEAN
                : T.VARCHAR,
      };
    case 'interval':
      return {
        fn: withJs(
          () => e.ms,
          (b) => constJs(b, e.ms),
        ),
        type: T.INTERVAL,
      };
    case 'ref': {
      const r = resolveRef(scope.fields, e);
      // The field's accessor (a pending calc's column) inline, then the ROW path under it.
      const get = r.field.get;
      const js: Js =
        get === undefined
          ? (_, row) => readJs(row, r.key, r.path)
          : (b, row) => `(${jsOf(get)(b, row)}${r.path.map((p) => `?.[${JSON.stringify(p)}]`).join('')} ?? null)`;
      return { fn: withJs(refClosure(r.key, r.path, get), js), type: r.type };
    }
    case 'star':
      throw sqlError(e.pos, '* is allowed only in a select list or COUNT(*)');
    case 'unary': {
      const x = compile(e.e, scope);
      if (e.op === 'NOT') {
        boolean(x, e.e, 'NOT');
        return { fn: lifted1(not, x), type: T.BOOLEAN };
      }
      if (!isNumeric(x.type) && x.type.name !== 'INTERVAL') throw sqlError(e.pos, `unary minus expects a number, got ${typeName(x.type)}`);
      return { fn: lifted1(neg, x), type: x.type };
    }
    case 'binary':
      return binary(e, scope);
    case 'between': {
      const x = compile(e.e, scope);
      const lo = compile(e.lo, scope);
      const hi = compile(e.hi, scope);
      comparison(x, lo, e);
      comparison(x, hi, e);
      const ge = COMPARE['>=']!;
      const le = COMPARE['<=']!;
      const f = (r: Row): unknown => and(ge(x.fn(r), lo.fn(r)), le(x.fn(r), hi.fn(r)));
      return { fn: e.not ? (r) => not(f(r)) : f, type: T.BOOLEAN };
    }
    case 'in': {
      const x = compile(e.e, scope);
      const items = e.list.map((i) => compile(i, scope));
      for (let i = 0; i < items.length; i++) comparison(x, items[i]!, e.list[i]!);
      // A list of literals (q21's channel names) is a set looked up inline in a generated calc.
      const lits = e.list.every((i) => i.k === 'lit') ? e.list.map((i) => (i as Expr & { k: 'lit' }).value) : undefined;
      if (lits !== undefined) {
        const set = new Set(lits.filter((v) => v !== null));
        const miss = lits.includes(null) ? null : false;
        const found = e.not ? false : true;
        const notFound = e.not ? not(miss) : miss;
        return { fn: lifted1((v) => (v === null ? null : set.has(v as string | number | boolean) ? found : notFound), x), type: T.BOOLEAN };
      }
      const f = (r: Row): unknown => {
        const v = x.fn(r);
        if (v === null) return null;
        let sawNull = false;
        for (const it of items) {
          const w = it.fn(r);
          if (w === null) sawNull = true;
          else if (w === v) return true;
        }
        return sawNull ? null : false;
      };
      return { fn: e.not ? (r) => not(f(r)) : f, type: T.BOOLEAN };
    }
    case 'like': {
      const x = compile(e.e, scope);
      const p = compile(e.pattern, scope);
      if (x.type.name !== 'VARCHAR' && x.type.name !== 'NULL') throw sqlError(e.pos, `LIKE expects a VARCHAR, got ${typeName(x.type)}`);
      if (p.type.name !== 'VARCHAR') throw sqlError(e.pattern.pos, `LIKE expects a VARCHAR pattern, got ${typeName(p.type)}`);
      const cache = new Map<string, RegExp>();
      const f = (r: Row): unknown => {
        const v = x.fn(r);
        const pat = p.fn(r);
        if (v === null || pat === null) return null;
        let re = cache.get(pat as string);
        if (re === undefined) cache.set(pat as string, (re = likeRegex(pat as string)));
        return re.test(v as string);
      };
      return { fn: e.not ? (r) => not(f(r)) : f, type: T.BOOLEAN };
    }
    case 'isnull': {
      const x = compile(e.e, scope);
      return { fn: lifted1(e.not ? isNotNull : isNull, x), type: T.BOOLEAN };
    }
    case 'case': {
      const operand = e.operand === undefined ? undefined : compile(e.operand, scope);
      const whens = e.whens.map(([w, t]) => [compile(w, scope), compile(t, scope)] as const);
      const otherwise = e.otherwise === undefined ? undefined : compile(e.otherwise, scope);
      const results = [...whens.map(([, t]) => t), ...(otherwise ? [otherwise] : [])];
      let type: SqlType = T.NULL;
      for (let i = 0; i < results.length; i++) {
        const t = results[i]!.type;
        if (type.name === 'NULL') type = t;
        else if (t.name !== 'NULL' && !(isNumeric(type) && isNumeric(t)) && t.name !== type.name) {
          const at = i < e.whens.length ? e.whens[i]![1].pos : e.otherwise!.pos;
          throw sqlError(at, `CASE branches have different types: ${typeName(type)} and ${typeName(t)}`);
        } else if (isNumeric(type) && isNumeric(t)) type = widen(type, t);
      }
      whens.forEach(([w], i) => (operand ? comparison(operand, w, e.whens[i]![0]) : boolean(w, e.whens[i]![0], 'WHEN')));
      const other = otherwise?.fn;
      // Indexed arrays, not destructured pairs: the Nexmark rowtime CASE runs for every event.
      const ws = whens.map(([w]) => w.fn);
      const ts = whens.map(([, t]) => t.fn);
      const n = ws.length;
      if (operand === undefined) {
        // As text: WHEN … THEN … WHEN … as one conditional expression.
        const js: Js = (b, row) =>
          `(${ws.map((w, i) => `${jsOf(w)(b, row)} === true ? ${jsOf(ts[i]!)(b, row)} : `).join('')}${other ? jsOf(other)(b, row) : 'null'})`;
        const fn = (r: Row): unknown => {
          for (let i = 0; i < n; i++) if (ws[i]!(r) === true) return ts[i]!(r);
          return other ? other(r) : null;
        };
        return { fn: shared(fn, js), type };
      }
      const of = operand.fn;
      return {
        fn: (r) => {
          const o = of(r);
          for (let i = 0; i < n; i++) {
            if (o !== null && ws[i]!(r) === o) return ts[i]!(r);
          }
          return other ? other(r) : null;
        },
        type,
      };
    }
    case 'cast': {
      const x = compile(e.e, scope);
      const to = resolveType(e.type);
      if (to.name === 'ROW') throw sqlUnsupported(e.type.pos, 'CAST to ROW');
      const f = castFn(x.type, to);
      return { fn: (r) => f(x.fn(r)), type: to };
    }
    case 'extract': {
      const x = compile(e.e, scope);
      const unit = TIME_UNITS[e.unit];
      if (unit === undefined) throw sqlUnsupported(e.pos, `EXTRACT(${e.unit} FROM …)`);
      if (x.type.name !== 'TIMESTAMP' && x.type.name !== 'NULL')
        throw sqlError(e.e.pos, `EXTRACT expects a TIMESTAMP, got ${typeName(x.type)}`);
      return {
        fn: (r) => {
          const v = x.fn(r);
          return v === null ? null : unit(new Date(v as number));
        },
        type: T.BIGINT,
      };
    }
    case 'call':
      return call(e, scope);
  }
}

/** The closure reading field `key` (through its accessor `get` when it has one), then `path`. */
function refClosure(key: string, path: readonly string[], get: ((row: Row) => unknown) | undefined): (row: Row) => unknown {
  if (get !== undefined && path.length === 0) return (row) => get(row) ?? null;
  if (get !== undefined && path.length === 1) {
    const p0 = path[0]!;
    return (row) => (get(row) as Row | null | undefined)?.[p0] ?? null;
  }
  if (path.length === 0) return (row) => row[key] ?? null;
  if (path.length === 1) {
    // A field of a ROW column (nexmark's bid.price): the common case, without the loop.
    const p0 = path[0]!;
    return (row) => (row[key] as Row | null | undefined)?.[p0] ?? null;
  }
  return (row) => {
    let v: unknown = get !== undefined ? get(row) : row[key];
    for (const p of path) v = v === null || v === undefined ? null : (v as Row)[p];
    return v ?? null;
  };
}

function call(e: Expr & { k: 'call' }, scope: ExprScope): Compiled {
  if (e.over)
    throw sqlUnsupported(
      e.pos,
      `${e.name}() OVER (…) outside the Top-N pattern (SELECT … FROM (SELECT …, ROW_NUMBER() OVER (…) AS rn …) WHERE rn <= N)`,
    );
  if (AGGREGATES.has(e.name))
    throw sqlError(
      e.pos,
      `aggregate function ${e.name} is not allowed here (only in the select list or HAVING of a query with GROUP BY or aggregation)`,
    );
  if (/^(TUMBLE|HOP|SESSION)(_START|_END|_ROWTIME)?$/.test(e.name)) {
    throw sqlError(
      e.pos,
      `${e.name} is a group window function: it belongs in GROUP BY ${e.name.replace(/_.*/, '')}(time, INTERVAL …) and its _START/_END in the select list of that query`,
    );
  }
  if (e.filter) throw sqlError(e.filter.pos, `FILTER (WHERE …) applies to aggregate functions only, not ${e.name}`);
  const args = e.args.map((a) => compile(a, scope));
  const f = scalarFunction(
    e.name,
    args.map((a) => a.type),
    e.pos,
  );
  const fns = args.map((a) => a.fn);
  const body = f.fn;
  // One to three arguments (MOD, UPPER, …) as text calling the function, which V8 can inline
  // there; written twice in a calc, computed once, unless the function is not deterministic.
  const share = f.deterministic;
  if (args.length >= 1 && args.length <= 3) {
    const op = f.nullAware ? body : nullIn(body, args.length as 1 | 2 | 3);
    if (args.length === 1) return { fn: lifted1(op, args[0]!, share), type: f.type };
    if (args.length === 2) return { fn: lifted2(op, args[0]!, args[1]!, share), type: f.type };
    return { fn: lifted3(op, args[0]!, args[1]!, args[2]!, share), type: f.type };
  }
  if (f.nullAware) return { fn: (r) => body(...fns.map((a) => a(r))), type: f.type };
  return {
    fn: (r) => {
      const vs = fns.map((a) => a(r));
      return vs.includes(null) ? null : body(...vs);
    },
    type: f.type,
  };
}

/** `body` returning NULL when one of its `n` arguments is: one function per body, so two calls of HOUR(t) are the same operation (codegen.ts). */
const nullIns = [1, 2, 3].map(() => new WeakMap<(...a: unknown[]) => unknown, (...a: unknown[]) => unknown>());
function nullIn(body: (...a: unknown[]) => unknown, n: 1 | 2 | 3): (a?: unknown, b?: unknown, c?: unknown) => unknown {
  const known = nullIns[n - 1]!;
  let f = known.get(body);
  if (f === undefined) {
    f =
      n === 1
        ? (v) => (v === null ? null : body(v))
        : n === 2
          ? (a, b) => (a === null || b === null ? null : body(a, b))
          : (a, b, c) => (a === null || b === null || c === null ? null : body(a, b, c));
    known.set(body, f);
  }
  return f;
}

function binary(e: Expr & { k: 'binary' }, scope: ExprScope): Compiled {
  const l = compile(e.l, scope);
  const r = compile(e.r, scope);
  switch (e.op) {
    case 'AND':
    case 'OR':
      boolean(l, e.l, e.op);
      boolean(r, e.r, e.op);
      return { fn: lifted2(e.op === 'AND' ? and : or, l, r), type: T.BOOLEAN };
    case 'IS':
      return { fn: lifted2(same, l, r), type: T.BOOLEAN };
    case '=':
    case '<>':
    case '<':
    case '<=':
    case '>':
    case '>=':
      comparison(l, r, e);
      if (e.op === '=') {
        const eq = integerEquality(e.l, l, e.r, r) ?? integerEquality(e.r, r, e.l, l);
        if (eq) return eq;
      }
      return { fn: lifted2(COMPARE[e.op]!, l, r), type: T.BOOLEAN };
    case '||':
      return { fn: lifted2(concat, l, r), type: T.VARCHAR };
    case '+':
    case '-': {
      // Time arithmetic: TIMESTAMP ± INTERVAL, INTERVAL + TIMESTAMP (the interval is milliseconds, so a plain sum).
      if (
        (l.type.name === 'TIMESTAMP' && r.type.name === 'INTERVAL') ||
        (e.op === '+' && l.type.name === 'INTERVAL' && r.type.name === 'TIMESTAMP')
      ) {
        return { fn: lifted2(e.op === '-' ? subtract : add, l, r), type: T.TIMESTAMP };
      }
      arithmetic(l, r, e);
      const dec = additionType(l.type, r.type);
      if (dec !== undefined)
        return decimalOp(l, r, dec, e.op, () => decimalAdd(asDecimal(l.type)!.scale, asDecimal(r.type)!.scale, dec, e.op === '-' ? -1 : 1));
      return { fn: lifted2(e.op === '-' ? subtract : add, l, r), type: widen(l.type, r.type) };
    }
    case '*': {
      arithmetic(l, r, e);
      const dec = multiplicationType(l.type, r.type);
      if (dec !== undefined) {
        return decimalOp(l, r, dec, '*', () =>
          decimalMultiply(asDecimal(l.type)!.scale, asDecimal(r.type)!.scale, dec.scale!, dec.precision),
        );
      }
      return { fn: lifted2(multiply, l, r), type: widen(l.type, r.type) };
    }
    case '/': {
      arithmetic(l, r, e);
      const dec = divisionType(l.type, r.type);
      if (dec !== undefined) return decimalOp(l, r, dec, '/', () => decimalDivide(asDecimal(l.type)!.scale, asDecimal(r.type)!.scale, dec));
      const type = widen(l.type, r.type);
      // Integer division truncates, as Flink's; division by zero is a failure there, NULL here would hide it.
      return { fn: lifted2(isInteger(type) ? divideInteger : divide, l, r), type };
    }
    case '%': {
      arithmetic(l, r, e);
      const dec = moduloType(l.type, r.type);
      if (dec !== undefined) return decimalOp(l, r, dec, '%', () => decimalModulo(asDecimal(l.type)!.scale, asDecimal(r.type)!.scale, dec));
      return { fn: lifted2(remainder, l, r), type: widen(l.type, r.type) };
    }
  }
  throw sqlUnsupported(e.pos, `the operator ${e.op}`);
}

/** DECIMAL operators by operator and operand and result types: one function each, so the same operation written twice is shared (codegen.ts). */
const decimalOps = new Map<string, Op2>();

/** A DECIMAL operator over two compiled operands (decimal.ts): NULL in, NULL out. */
function decimalOp(l: Compiled, r: Compiled, type: SqlType, sym: string, make: () => (a: number, b: number) => number | null): Compiled {
  const id = `${sym} ${typeName(l.type)} ${typeName(r.type)} ${typeName(type)}`;
  let f = decimalOps.get(id);
  if (f === undefined) {
    const op = make();
    decimalOps.set(id, (f = (a, b) => (a === null || b === null ? null : op(a as number, b as number))));
  }
  return { fn: lifted2(f, l, r), type };
}

type Op2 = (a: unknown, b: unknown) => unknown;

/**
 * `op` over two compiled operands, as a closure and as source text calling `op` (small, so V8
 * inlines it there), shared (codegen.ts) unless `share` is false: `op` is not deterministic.
 */
function lifted2(op: Op2, l: Compiled, r: Compiled, share = true): (row: Row) => unknown {
  const lf = l.fn;
  const rf = r.fn;
  return (share ? shared : withJs)(
    (row: Row) => op(lf(row), rf(row)),
    (b, row) => `${b.bind(op)}(${jsOf(lf)(b, row)}, ${jsOf(rf)(b, row)})`,
  );
}

function lifted3(
  op: (a: unknown, b: unknown, c: unknown) => unknown,
  x: Compiled,
  y: Compiled,
  z: Compiled,
  share = true,
): (row: Row) => unknown {
  const [xf, yf, zf] = [x.fn, y.fn, z.fn];
  return (share ? shared : withJs)(
    (row: Row) => op(xf(row), yf(row), zf(row)),
    (b, row) => `${b.bind(op)}(${jsOf(xf)(b, row)}, ${jsOf(yf)(b, row)}, ${jsOf(zf)(b, row)})`,
  );
}

/** `x = L` by the integer literal L: one function per L, so the same test written twice is shared (codegen.ts). */
const integerEquals = new Map<number, Op1>();

type Op1 = (v: unknown) => unknown;

/**
 * An integer column compared with an integer literal (Nexmark's `event_type = 0` in its views
 * and in the `dateTime` CASE, per event) as a strict equality with the literal written in,
 * not a call of the comparison every query shares, whose `<` and `>` see every type. A value
 * that is not a number (never, for an integer column) still goes through that comparison.
 */
function integerEquality(litExpr: Expr, lit: Compiled, otherExpr: Expr, other: Compiled): Compiled | undefined {
  if (litExpr.k !== 'lit' || typeof litExpr.value !== 'number' || !Number.isInteger(litExpr.value)) return undefined;
  if (!isInteger(lit.type) || !isInteger(other.type) || otherExpr.k === 'lit') return undefined;
  const value = litExpr.value;
  let op = integerEquals.get(value);
  if (op === undefined) {
    const generic = COMPARE['=']!;
    integerEquals.set(
      value,
      (op = (v) => (v === null || v === undefined ? null : typeof v === 'number' ? v === value : generic(v, value))),
    );
  }
  return { fn: lifted1(op, other), type: T.BOOLEAN };
}

/** A value's place in the order of its type: -1, 0 or 1. */
function order(a: unknown, b: unknown): number {
  return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
}

/** The comparisons (NULL when either side is NULL): one function each, so each stays monomorphic where it is inlined. */
const COMPARE: Record<string, Op2> = {
  '=': (a, b) => (a == null || b == null ? null : order(a, b) === 0),
  '<>': (a, b) => (a == null || b == null ? null : order(a, b) !== 0),
  '<': (a, b) => (a == null || b == null ? null : order(a, b) < 0),
  '<=': (a, b) => (a == null || b == null ? null : order(a, b) <= 0),
  '>': (a, b) => (a == null || b == null ? null : order(a, b) > 0),
  '>=': (a, b) => (a == null || b == null ? null : order(a, b) >= 0),
};
const same: Op2 = (a, b) => a === b;
const concat: Op2 = (a, b) => (a === null || b === null ? null : `${a as string}${b as string}`);
const add: Op2 = (a, b) => (a === null || b === null ? null : (a as number) + (b as number));
const subtract: Op2 = (a, b) => (a === null || b === null ? null : (a as number) - (b as number));
const multiply: Op2 = (a, b) => (a === null || b === null ? null : (a as number) * (b as number));
const divide: Op2 = (a, b) => (a === null || b === null ? null : (a as number) / (b as number));
const divideInteger: Op2 = (a, b) => (a === null || b === null ? null : Math.trunc((a as number) / (b as number)));
const remainder: Op2 = (a, b) => (a === null || b === null ? null : (a as number) % (b as number));

/** `op` over one compiled operand, as a closure and as source text calling `op` (shared as lifted2). */
function lifted1(op: (v: unknown) => unknown, x: Compiled, share = true): (row: Row) => unknown {
  const xf = x.fn;
  return (share ? shared : withJs)(
    (row: Row) => op(xf(row)),
    (b, row) => `${b.bind(op)}(${jsOf(xf)(b, row)})`,
  );
}
const isNull = (v: unknown): boolean => v === null;
const isNotNull = (v: unknown): boolean => v !== null;
function not(v: unknown): boolean | null {
  return v === null ? null : !v;
}
function neg(v: unknown): number | null {
  return v === null ? null : -(v as number);
}
function and(a: unknown, b: unknown): boolean | null {
  if (a === false || b === false) return false;
  return a === null || b === null ? null : true;
}
function or(a: unknown, b: unknown): boolean | null {
  if (a === true || b === true) return true;
  return a === null || b === null ? null : false;
}

function comparison(l: Compiled, r: Compiled, e: Expr): void {
  if (!comparable(l.type, r.type))
    throw sqlError(
      e.pos,
      `cannot compare ${typeName(l.type)} with ${typeName(r.type)}${isNumeric(l.type) !== isNumeric(r.type) ? ' (CAST one side to the type of the other)' : ''}`,
    );
}
function arithmetic(l: Compiled, r: Compiled, e: Expr & { k: 'binary' }): void {
  if (!isNumeric(l.type) || !isNumeric(r.type))
    throw sqlError(e.pos, `operator ${e.op} expects numbers, got ${typeName(l.type)} ${e.op} ${typeName(r.type)}`);
}
function boolean(x: Compiled, e: Expr, what: string): void {
  if (x.type.name !== 'BOOLEAN' && x.type.name !== 'NULL') throw sqlError(e.pos, `${what} expects a BOOLEAN, got ${typeName(x.type)}`);
}

function likeRegex(pattern: string): RegExp {
  let re = '';
  for (const c of pattern) re += c === '%' ? '.*' : c === '_' ? '.' : c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^${re}$`, 's');
}

function castFn(from: SqlType, to: SqlType): (v: unknown) => unknown {
  if (to.name === 'VARCHAR' && from.name === 'TIMESTAMP')
    return (v) => (v === null ? null : new Date(v as number).toISOString().replace('T', ' ').replace('Z', ''));
  if (isInteger(to))
    return (v) =>
      v === null ? null : typeof v === 'string' ? (Number.isNaN(Number(v)) ? null : Math.trunc(Number(v))) : Math.trunc(Number(v));
  if (to.name === 'TIMESTAMP') return (v) => (v === null ? null : toMillis(v));
  if (to.name === 'DECIMAL' && to.scale !== undefined) return decimalCast(to.precision!, to.scale);
  return (v) => coerce(v, to);
}
