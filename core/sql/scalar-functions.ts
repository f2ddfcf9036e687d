/**
 * The scalar functions the Nexmark queries and common Flink SQL use, with their type rules.
 * Every function returns NULL when an argument is NULL (Flink's default), except COALESCE and IF.
 * Times are UTC.
 */
import { userFunction } from './functions.js';
import { sqlError, sqlUnsupported, type Pos } from './errors.js';
import { T, isInteger, isNumeric, widen, type SqlType } from './types.js';

type Fn = (...args: unknown[]) => unknown;

/** A function: its result type from its argument types (or an error), and its body. */
interface ScalarFunction {
  arity: [number, number];
  result(args: SqlType[], pos: Pos, name: string): SqlType;
  fn: Fn;
  /** Called with NULL arguments too (COALESCE, IF). */
  nullAware?: boolean;
}

const want = (pos: Pos, name: string, i: number, t: SqlType, ok: (t: SqlType) => boolean, what: string): void => {
  if (t.name !== 'NULL' && !ok(t)) throw sqlError(pos, `${name} expects ${what} as argument ${i + 1}, got ${t.name}`);
};
const str = (t: SqlType): boolean => t.name === 'VARCHAR';
const ts = (t: SqlType): boolean => t.name === 'TIMESTAMP';

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

/** Java SimpleDateFormat patterns (yyyy MM dd HH mm ss SSS), as Flink's DATE_FORMAT takes them. */
export function formatDate(ms: number, pattern: string): string {
  let f = formatters.get(pattern);
  if (f === undefined) formatters.set(pattern, (f = dateFormatter(pattern)));
  return f(new Date(ms));
}

// A pattern is parsed once into its parts: DATE_FORMAT runs per row (q10, q15-q17), and a
// regular-expression replace with a callback per call cost it most of its time.
const formatters = new Map<string, (d: Date) => string>();
const pad2 = (n: number): string => (n < 10 ? `0${n}` : `${n}`);
const DATE_FIELDS: Record<string, (d: Date) => string> = {
  yyyy: (d) => String(d.getUTCFullYear()),
  yy: (d) => pad2(d.getUTCFullYear() % 100),
  MM: (d) => pad2(d.getUTCMonth() + 1),
  dd: (d) => pad2(d.getUTCDate()),
  HH: (d) => pad2(d.getUTCHours()),
  mm: (d) => pad2(d.getUTCMinutes()),
  ss: (d) => pad2(d.getUTCSeconds()),
  SSS: (d) => pad(d.getUTCMilliseconds(), 3),
};

function dateFormatter(pattern: string): (d: Date) => string {
  const parts: Array<string | ((d: Date) => string)> = [];
  let at = 0;
  for (const m of pattern.matchAll(/yyyy|yy|MM|dd|HH|mm|ss|SSS|'[^']*'/g)) {
    if (m.index > at) parts.push(pattern.slice(at, m.index));
    parts.push(DATE_FIELDS[m[0]] ?? m[0].slice(1, -1));
    at = m.index + m[0].length;
  }
  if (at < pattern.length) parts.push(pattern.slice(at));
  return (d) => {
    let s = '';
    for (const p of parts) s += typeof p === 'string' ? p : p(d);
    return s;
  };
}

// The last input's result, kept: a row reads the same string several times (q22 splits its url
// three times, q21 matches it in WHERE and again in CASE), and equal inputs give equal results.
// Kept in variables, not a tuple made per new input: q22 reads a new url for every bid.
let splitInput: string | undefined;
let splitSep = '';
let splitParts: string[] = [];
function lastSplit(s: string, sep: string): string[] {
  if (splitInput !== s || splitSep !== sep) {
    splitParts = s.split(sep);
    splitInput = s;
    splitSep = sep;
  }
  return splitParts;
}
let matchInput: string | undefined;
let matchRe = '';
let matchResult: RegExpExecArray | null = null;
function lastMatch(s: string, re: string): RegExpExecArray | null {
  if (matchInput !== s || matchRe !== re) {
    matchResult = regex(re).exec(s);
    matchInput = s;
    matchRe = re;
  }
  return matchResult;
}

const regexCache = new Map<string, RegExp>();
function regex(source: string): RegExp {
  let r = regexCache.get(source);
  if (r === undefined) regexCache.set(source, (r = new RegExp(source)));
  return r;
}

const stringFn = (fn: (s: string) => unknown, result: SqlType = T.VARCHAR): ScalarFunction => ({
  arity: [1, 1],
  result: (a, pos, name) => (want(pos, name, 0, a[0]!, str, 'a VARCHAR'), result),
  fn: fn as Fn,
});
const timeFn = (fn: (ms: number) => number): ScalarFunction => ({
  arity: [1, 1],
  result: (a, pos, name) => (want(pos, name, 0, a[0]!, ts, 'a TIMESTAMP'), T.BIGINT),
  fn: fn as Fn,
});
const onDate =
  (fn: (d: Date) => number) =>
  (ms: number): number =>
    fn(new Date(ms));
const floorMod = (x: number, m: number): number => ((x % m) + m) % m;
const mathFn = (fn: (x: number) => number, keepType: boolean): ScalarFunction => ({
  arity: [1, 1],
  result: (a, pos, name) => (want(pos, name, 0, a[0]!, isNumeric, 'a number'), keepType ? a[0]! : T.DOUBLE),
  fn: fn as Fn,
});

/** Fields EXTRACT and the time functions read. */
export const TIME_UNITS: Record<string, (d: Date) => number> = {
  YEAR: (d) => d.getUTCFullYear(),
  MONTH: (d) => d.getUTCMonth() + 1,
  DAY: (d) => d.getUTCDate(),
  HOUR: (d) => d.getUTCHours(),
  MINUTE: (d) => d.getUTCMinutes(),
  SECOND: (d) => d.getUTCSeconds(),
  DOW: (d) => d.getUTCDay() + 1,
};

const FUNCTIONS: Record<string, ScalarFunction> = {
  UPPER: stringFn((s) => s.toUpperCase()),
  LOWER: stringFn((s) => s.toLowerCase()),
  TRIM: stringFn((s) => s.trim()),
  LTRIM: stringFn((s) => s.trimStart()),
  RTRIM: stringFn((s) => s.trimEnd()),
  CHAR_LENGTH: stringFn((s) => s.length, T.INT),
  CHARACTER_LENGTH: stringFn((s) => s.length, T.INT),
  // The wall clock, as Flink's processing-time attribute; eddy uses it only "as of now" (a lookup
  // join's FOR SYSTEM_TIME AS OF), not as a window's time, so results do not depend on it.
  PROCTIME: { arity: [0, 0], result: () => T.PROCTIME, fn: () => Date.now() },
  SUBSTRING: {
    arity: [2, 3],
    result: (a, pos, name) => (want(pos, name, 0, a[0]!, str, 'a VARCHAR'), want(pos, name, 1, a[1]!, isInteger, 'an integer'), T.VARCHAR),
    // SQL positions count from 1; a start of 0 or below still counts the length from position 1.
    fn: (s, start, len) => {
      const from = Math.max((start as number) - 1, 0);
      const end = len === undefined ? undefined : Math.max((start as number) - 1 + (len as number), from);
      return (s as string).slice(from, end);
    },
  },
  CONCAT: {
    arity: [1, 64],
    result: () => T.VARCHAR,
    fn: (...parts) => parts.map(String).join(''),
  },
  REGEXP_EXTRACT: {
    arity: [2, 3],
    result: (a, pos, name) => (
      want(pos, name, 0, a[0]!, str, 'a VARCHAR'),
      want(pos, name, 1, a[1]!, str, 'a VARCHAR regular expression'),
      T.VARCHAR
    ),
    fn: (s, re, idx) => {
      const m = lastMatch(s as string, re as string);
      return m === null ? null : (m[(idx as number | undefined) ?? 1] ?? null);
    },
  },
  REGEXP_REPLACE: {
    arity: [3, 3],
    result: () => T.VARCHAR,
    fn: (s, re, rep) => (s as string).replace(new RegExp(re as string, 'g'), rep as string),
  },
  SPLIT_INDEX: {
    arity: [3, 3],
    result: (a, pos, name) => (
      want(pos, name, 0, a[0]!, str, 'a VARCHAR'),
      want(pos, name, 1, a[1]!, str, 'a VARCHAR separator'),
      want(pos, name, 2, a[2]!, isInteger, 'an integer index'),
      T.VARCHAR
    ),
    fn: (s, sep, idx) => lastSplit(s as string, sep as string)[idx as number] ?? null,
  },
  DATE_FORMAT: {
    arity: [2, 2],
    result: (a, pos, name) => (
      want(pos, name, 0, a[0]!, (t) => ts(t) || str(t), 'a TIMESTAMP'),
      want(pos, name, 1, a[1]!, str, 'a VARCHAR pattern'),
      T.VARCHAR
    ),
    fn: (t, p) => formatDate(typeof t === 'number' ? t : Date.parse(String(t)), p as string),
  },
  // By arithmetic on the UTC milliseconds: q14 reads HOUR four times a row, and a Date each was most of its CASE.
  HOUR: timeFn((ms) => floorMod(Math.floor(ms / 3_600_000), 24)),
  MINUTE: timeFn((ms) => floorMod(Math.floor(ms / 60_000), 60)),
  SECOND: timeFn((ms) => floorMod(Math.floor(ms / 1000), 60)),
  YEAR: timeFn(onDate(TIME_UNITS.YEAR!)),
  MONTH: timeFn(onDate(TIME_UNITS.MONTH!)),
  DAYOFMONTH: timeFn(onDate(TIME_UNITS.DAY!)),
  MOD: {
    arity: [2, 2],
    result: (a, pos, name) => (
      want(pos, name, 0, a[0]!, isNumeric, 'a number'),
      want(pos, name, 1, a[1]!, isNumeric, 'a number'),
      widen(a[0]!, a[1]!)
    ),
    fn: (x, y) => (x as number) % (y as number),
  },
  ABS: mathFn(Math.abs, true),
  FLOOR: mathFn(Math.floor, true),
  CEIL: mathFn(Math.ceil, true),
  CEILING: mathFn(Math.ceil, true),
  SQRT: mathFn(Math.sqrt, false),
  LN: mathFn(Math.log, false),
  EXP: mathFn(Math.exp, false),
  ROUND: {
    arity: [1, 2],
    result: (a, pos, name) => (want(pos, name, 0, a[0]!, isNumeric, 'a number'), a[0]!),
    fn: (x, d) => {
      const f = 10 ** ((d as number | undefined) ?? 0);
      return (Math.sign(x as number) * Math.round(Math.abs(x as number) * f)) / f;
    },
  },
  POWER: {
    arity: [2, 2],
    result: (a, pos, name) => (
      want(pos, name, 0, a[0]!, isNumeric, 'a number'),
      want(pos, name, 1, a[1]!, isNumeric, 'a number'),
      T.DOUBLE
    ),
    fn: (x, y) => (x as number) ** (y as number),
  },
  COALESCE: {
    arity: [1, 64],
    result: (a) => a.find((t) => t.name !== 'NULL') ?? T.NULL,
    fn: (...xs) => xs.find((x) => x !== null && x !== undefined) ?? null,
    nullAware: true,
  },
  IF: {
    arity: [3, 3],
    result: (a, pos, name) => (want(pos, name, 0, a[0]!, (t) => t.name === 'BOOLEAN', 'a BOOLEAN'), a[1]!.name === 'NULL' ? a[2]! : a[1]!),
    fn: (c, x, y) => (c === true ? x : y),
    nullAware: true,
  },
  TO_TIMESTAMP: {
    arity: [1, 1],
    result: (a, pos, name) => (want(pos, name, 0, a[0]!, str, 'a VARCHAR'), T.TIMESTAMP),
    fn: (s) => {
      const ms = Date.parse(`${(s as string).replace(' ', 'T')}Z`);
      return Number.isNaN(ms) ? null : ms;
    },
  },
};

const NON_DETERMINISTIC = new Set(['NOW', 'CURRENT_TIMESTAMP', 'LOCALTIMESTAMP', 'RAND', 'UUID', 'CURRENT_ROW_TIMESTAMP']);

/** The function `name` applied to arguments of these types: its result type and body. */
export function scalarFunction(
  name: string,
  argTypes: SqlType[],
  pos: Pos,
): { type: SqlType; fn: Fn; nullAware: boolean; deterministic: boolean } {
  const f = FUNCTIONS[name];
  const udf = f === undefined ? userFunction(name) : undefined;
  // A user function is deterministic unless it says otherwise (Flink's isDeterministic()).
  if (udf !== undefined) return { type: udf.type, fn: udf.fn as Fn, nullAware: true, deterministic: udf.fn.deterministic !== false };
  if (f === undefined) {
    if (NON_DETERMINISTIC.has(name))
      throw sqlUnsupported(
        pos,
        `${name}() (processing time and non-deterministic functions; results would differ between runs and restores)`,
      );
    throw sqlError(pos, `unknown function ${name}`);
  }
  if (argTypes.length < f.arity[0] || argTypes.length > f.arity[1]) {
    const n = f.arity[0] === f.arity[1] ? `${f.arity[0]}` : `${f.arity[0]} to ${f.arity[1]}`;
    throw sqlError(pos, `${name} takes ${n} argument${n === '1' ? '' : 's'}, got ${argTypes.length}`);
  }
  return { type: f.result(argTypes, pos, name), fn: f.fn, nullAware: f.nullAware === true, deterministic: name !== 'PROCTIME' };
}
