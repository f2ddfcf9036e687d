/**
 * DECIMAL after Flink's rules (LogicalTypeMerging, DecimalDataUtils): the result type of
 * + - * / %, SUM and AVG, CAST and the implicit cast into a sink column, computed exactly on
 * the operands' scaled integers and rounded HALF_UP to the result's scale; a result with more
 * digits than its precision is NULL, as Flink's DecimalData.fromBigDecimal returns. A DECIMAL
 * value stays a JS number in rows (JSON sinks write the plain decimal number, as Flink's JSON
 * format does), but it always holds the double nearest the exact decimal: the operands' scaled
 * integers are exact (the decimal a double prints as, when it has more digits than 2^53 holds),
 * and the result is divided once by 10^scale (one correctly rounded step). Numbers while the
 * scaled integers stay below 2^53, BigInt past that.
 */
import type { SqlType } from './types.js';

/** Flink's largest DECIMAL precision. */
export const MAX_PRECISION = 38;
/** Flink keeps at least this scale when a result's precision overflows (LogicalTypeMerging). */
const MINIMUM_ADJUSTED_SCALE = 6;
/** Precision of the DECIMAL an integer type widens to (Flink: BIGINT → DECIMAL(19, 0), INT → DECIMAL(10, 0)). */
const INTEGER_PRECISION: Record<string, number> = { BIGINT: 19, INT: 10 };
/** Powers of ten exact as doubles (10^22 is the largest). */
const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i);
/** Below this a scaled value times a power of ten is within 2^-10 of its integer, so rounding it recovers the integer. */
const FAST_SCALED = 2 ** 43;

/** A DECIMAL type with its precision and scale. */
export function decimalType(precision: number, scale: number): SqlType {
  return { name: 'DECIMAL', precision, scale };
}

/** The type of a numeric literal as written: Flink types `0.908` DECIMAL(3, 3), `1.50` DECIMAL(3, 2). */
export function decimalLiteralType(text: string): SqlType | undefined {
  const m = /^(\d*)\.(\d+)$/.exec(text);
  if (m === null) return undefined;
  const scale = m[2]!.length;
  const intDigits = m[1]!.replace(/^0+/, '').length;
  return decimalType(Math.max(intDigits + scale, scale, 1), scale);
}

/** Precision and scale of a numeric type seen as a DECIMAL, or undefined (DOUBLE, or a DECIMAL of unknown scale). */
export function asDecimal(t: SqlType): { precision: number; scale: number } | undefined {
  if (t.name === 'DECIMAL' && t.scale !== undefined) return { precision: t.precision!, scale: t.scale };
  const p = INTEGER_PRECISION[t.name];
  return p === undefined ? undefined : { precision: p, scale: 0 };
}

/** Flink's LogicalTypeMerging.adjustPrecisionScale: cap at 38 digits, giving up scale but keeping at least 6. */
export function adjustPrecisionScale(precision: number, scale: number): SqlType {
  if (precision <= MAX_PRECISION) return decimalType(precision, scale);
  const intDigits = precision - scale;
  const minScale = Math.min(scale, MINIMUM_ADJUSTED_SCALE);
  return decimalType(MAX_PRECISION, Math.max(MAX_PRECISION - intDigits, minScale));
}

/**
 * The type of `a * b` when at least one side is a DECIMAL of known scale and neither is a
 * DOUBLE (Flink's findMultiplicationDecimalType: precision p1 + p2 + 1, scale s1 + s2), else undefined.
 */
export function multiplicationType(a: SqlType, b: SqlType): SqlType | undefined {
  if (a.name !== 'DECIMAL' && b.name !== 'DECIMAL') return undefined;
  const da = asDecimal(a);
  const db = asDecimal(b);
  if (da === undefined || db === undefined) return undefined;
  return adjustPrecisionScale(da.precision + db.precision + 1, da.scale + db.scale);
}

/**
 * `a * b` exactly for operands of scales sa and sb, rounded HALF_UP to the result's scale;
 * NULL past `precision` digits.
 */
export function decimalMultiply(
  sa: number,
  sb: number,
  resultScale: number,
  precision = MAX_PRECISION,
): (a: number, b: number) => number | null {
  const fa = POW10[sa]!;
  const fb = POW10[sb]!;
  const drop = sa + sb - resultScale;
  const out = POW10[resultScale]!;
  const fast = drop === 0 && resultScale < POW10.length;
  const slow = (a: number, b: number): number | null => toNumber(rescale(scaled(a, sa) * scaled(b, sb), drop), resultScale, precision);
  // The fast path's product is below 2^53 < 10^16: it can overflow only a smaller precision
  // (q1's DECIMAL(23, 3) takes the closure without the check: this runs for every bid).
  if (precision >= 16) {
    return (a, b) => {
      const p = Math.round(a * fa) * Math.round(b * fb);
      return fast && Number.isSafeInteger(p) ? p / out : slow(a, b);
    };
  }
  const limit = POW10[precision]!;
  return (a, b) => {
    const p = Math.round(a * fa) * Math.round(b * fb);
    if (fast && Number.isSafeInteger(p)) return p < limit && p > -limit ? p / out : null;
    return slow(a, b);
  };
}

// ---- exact helpers on scaled integers (BigInt) ----

/** `v` × 10^scale as an exact integer when that is quick (v whole at this scale, and small), else NaN. */
function scaledFast(v: number, scale: number): number {
  const f = POW10[scale];
  if (f === undefined) return NaN;
  const x = v * f;
  const r = Math.round(x);
  return Math.abs(x) < FAST_SCALED && Math.abs(x - r) < 1e-3 ? r : NaN;
}

/** The decimal digits of `v` as an exact scaled integer at `scale` (HALF_UP when v has more digits): the decimal the double prints as. */
export function scaled(v: number, scale: number): bigint {
  const r = scaledFast(v, scale);
  return r === r ? BigInt(r) : parseScaled(String(v), scale);
}

/** A decimal string (digits, optional point, optional exponent) as a scaled integer at `scale`, HALF_UP. */
export function parseScaled(text: string, scale: number): bigint {
  const m = /^\s*([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?\s*$/.exec(text);
  if (m === null || (m[2] === '' && (m[3] ?? '') === '')) throw new RangeError(`not a decimal number: '${text}'`);
  const digits = `${m[2]}${m[3] ?? ''}`;
  // value = digits × 10^(exp - fraction digits); at `scale`: digits × 10^(exp - fraction digits + scale).
  const shift = Number(m[4] ?? 0) - (m[3] ?? '').length + scale;
  let n = BigInt(digits === '' ? '0' : digits);
  n = shift >= 0 ? n * 10n ** BigInt(shift) : rescale(n, -shift);
  return m[1] === '-' ? -n : n;
}

/** `n` divided by 10^drop, HALF_UP (away from zero at .5). */
function rescale(n: bigint, drop: number): bigint {
  if (drop <= 0) return drop === 0 ? n : n * 10n ** BigInt(-drop);
  const d = 10n ** BigInt(drop);
  const half = d / 2n;
  return n >= 0n ? (n + half) / d : -((-n + half) / d);
}

const LIMITS = Array.from({ length: MAX_PRECISION + 1 }, (_, p) => 10n ** BigInt(p));

/** The scaled integer `n` at `scale` as the nearest double (a decimal string parsed once), or NULL past `precision` digits. */
export function toNumber(n: bigint, scale: number, precision: number): number | null {
  const neg = n < 0n;
  const abs = neg ? -n : n;
  if (abs >= LIMITS[precision]!) return null;
  if (abs < 9007199254740992n && scale < POW10.length) return Number(n) / POW10[scale]!;
  const digits = abs.toString().padStart(scale + 1, '0');
  const text = scale === 0 ? digits : `${digits.slice(0, digits.length - scale)}.${digits.slice(digits.length - scale)}`;
  return Number(neg ? `-${text}` : text);
}

// ---- result types (Flink's LogicalTypeMerging) ----

/** Both sides as decimals (precision, scale) when one is a DECIMAL of known scale and neither a DOUBLE, else undefined. */
function decimalOperands(a: SqlType, b: SqlType): [{ precision: number; scale: number }, { precision: number; scale: number }] | undefined {
  if (a.name !== 'DECIMAL' && b.name !== 'DECIMAL') return undefined;
  const da = asDecimal(a);
  const db = asDecimal(b);
  return da === undefined || db === undefined ? undefined : [da, db];
}

/** findAdditionDecimalType: scale max(s1, s2), precision max(p1 - s1, p2 - s2) + scale + 1. */
export function additionType(a: SqlType, b: SqlType): SqlType | undefined {
  const d = decimalOperands(a, b);
  if (d === undefined) return undefined;
  const scale = Math.max(d[0].scale, d[1].scale);
  return adjustPrecisionScale(Math.max(d[0].precision - d[0].scale, d[1].precision - d[1].scale) + scale + 1, scale);
}

/** findDivisionDecimalType: scale max(6, s1 + p2 + 1), precision p1 - s1 + s2 + scale. */
export function divisionType(a: SqlType, b: SqlType): SqlType | undefined {
  const d = decimalOperands(a, b);
  if (d === undefined) return undefined;
  const scale = Math.max(MINIMUM_ADJUSTED_SCALE, d[0].scale + d[1].precision + 1);
  return adjustPrecisionScale(d[0].precision - d[0].scale + d[1].scale + scale, scale);
}

/** findModuloDecimalType: scale max(s1, s2), precision min(p1 - s1, p2 - s2) + scale. */
export function moduloType(a: SqlType, b: SqlType): SqlType | undefined {
  const d = decimalOperands(a, b);
  if (d === undefined) return undefined;
  const scale = Math.max(d[0].scale, d[1].scale);
  return adjustPrecisionScale(Math.min(d[0].precision - d[0].scale, d[1].precision - d[1].scale) + scale, scale);
}

/** findSumAggType: DECIMAL(38, s). */
export function sumType(arg: SqlType): SqlType | undefined {
  const d = arg.name === 'DECIMAL' ? asDecimal(arg) : undefined;
  return d === undefined ? undefined : decimalType(MAX_PRECISION, d.scale);
}

/** findAvgAggType: DECIMAL(38, max(6, s)). */
export function avgType(arg: SqlType): SqlType | undefined {
  const d = arg.name === 'DECIMAL' ? asDecimal(arg) : undefined;
  return d === undefined ? undefined : decimalType(MAX_PRECISION, Math.max(MINIMUM_ADJUSTED_SCALE, d.scale));
}

// ---- operations ----

/** `a + b` or `a - b` (sign -1) at the result type's scale; NULL past its precision. */
export function decimalAdd(sa: number, sb: number, type: SqlType, sign: 1 | -1): (a: number, b: number) => number | null {
  const scale = type.scale!;
  const precision = type.precision!;
  const f = POW10[scale];
  const limit = precision < 16 ? POW10[precision]! : Infinity;
  const common = Math.max(sa, sb);
  const fast = f !== undefined && scale >= common;
  return (a, b) => {
    // Both operands whole at the result's scale and small: exact integers, their sum exact too.
    if (fast) {
      const ia = scaledFast(a, scale);
      const ib = scaledFast(b, scale);
      if (ia === ia && ib === ib) {
        const r = ia + sign * ib;
        return Math.abs(r) < limit ? r / f! : null;
      }
    }
    // Exact at the operands' common scale, then rounded to the result's (cut below it past 38 digits).
    const r = scaled(a, sa) * 10n ** BigInt(common - sa) + BigInt(sign) * scaled(b, sb) * 10n ** BigInt(common - sb);
    return toNumber(rescale(r, common - scale), scale, precision);
  };
}

/**
 * `a / b` as Flink's DecimalDataUtils.divide: the quotient rounded HALF_UP to 38 significant
 * digits (MathContext(38, HALF_UP)), then HALF_UP to the result's scale; dividing by zero fails,
 * as Flink's (ArithmeticException).
 */
export function decimalDivide(sa: number, sb: number, type: SqlType): (a: number, b: number) => number | null {
  const scale = type.scale!;
  const precision = type.precision!;
  return (a, b) => {
    const ib = scaled(b, sb);
    if (ib === 0n) throw new RangeError(`DECIMAL division by zero (${a} / ${b})`);
    // a / b = (ia · 10^sb) / (ib · 10^sa)
    return toNumber(divide(scaled(a, sa) * 10n ** BigInt(sb), ib * 10n ** BigInt(sa), scale), scale, precision);
  };
}

/** num / den as Flink's BigDecimal division: HALF_UP to 38 significant digits, then HALF_UP to `scale` (a scaled integer). */
function divide(num: bigint, den: bigint, scale: number): bigint {
  const an = num < 0n ? -num : num;
  const ad = den < 0n ? -den : den;
  // At scale k ≥ 38 + the divisor's digits the quotient's floor has at least 39 digits.
  const k = Math.max(scale, MAX_PRECISION + ad.toString().length);
  const q = (an * 10n ** BigInt(k)) / ad;
  // HALF_UP needs no sticky bit: what lies below the floor only matters at exactly half, which rounds up anyway.
  const drop = Math.max(0, q.toString().length - MAX_PRECISION);
  const r = rescale(rescale(q, drop), k - drop - scale);
  return num < 0n !== den < 0n ? -r : r;
}

/** `a % b` (the sign of a, as Java's BigDecimal.remainder) at the result type's scale. */
export function decimalModulo(sa: number, sb: number, type: SqlType): (a: number, b: number) => number | null {
  const scale = type.scale!;
  const precision = type.precision!;
  const common = Math.max(sa, sb);
  return (a, b) => {
    const ib = scaled(b, sb) * 10n ** BigInt(common - sb);
    if (ib === 0n) throw new RangeError(`DECIMAL modulo by zero (${a} % ${b})`);
    return toNumber(rescale((scaled(a, sa) * 10n ** BigInt(common - sa)) % ib, common - scale), scale, precision);
  };
}

/**
 * CAST(v AS DECIMAL(p, s)), also the implicit cast into a sink column and of a source's value:
 * a number or a decimal string rounded HALF_UP to s, NULL past p digits or when not a number.
 */
export function decimalCast(precision: number, scale: number): (v: unknown) => number | null {
  const f = POW10[scale];
  const limit = precision < 16 ? POW10[precision]! : Infinity;
  return (v) => {
    if (v === null || v === undefined) return null;
    if (typeof v === 'boolean') v = v ? 1 : 0;
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) return null;
      const r = scaledFast(v, scale);
      if (r === r) return Math.abs(r) < limit ? r / f! : null;
      return toNumber(scaled(v, scale), scale, precision);
    }
    try {
      return toNumber(parseScaled(String(v), scale), scale, precision);
    } catch {
      return null;
    }
  };
}

/** Whether a value of type `from` fits DECIMAL(p, s) unchanged: a DECIMAL or integer of no more scale and integer digits. */
export function fitsDecimal(from: SqlType, precision: number, scale: number): boolean {
  const d = asDecimal(from);
  return d !== undefined && d.scale <= scale && d.precision - d.scale <= precision - scale;
}

/**
 * SUM and AVG over DECIMAL(p, s): the running sum is the exact scaled integer, a number while
 * below 2^53 and its decimal string past that (both kept by every state backend as they are).
 */
export interface DecimalSum {
  /** The value `v` added to (delta 1) or retracted from (delta -1) the sum; `sum` null for none yet. */
  add(sum: number | string | null, v: number, delta: 1 | -1): number | string;
  /** Two sums together (window slices, merged sessions). */
  merge(x: number | string | null, y: number | string | null): number | string | null;
  /** SUM's value: DECIMAL(38, s); NULL past 38 digits. */
  sum(sum: number | string | null): number | null;
  /** AVG's value over n rows: DECIMAL(38, max(6, s)), HALF_UP. */
  avg(sum: number | string | null, n: number): number | null;
}

const SAFE = 2 ** 53;

/** The exact SUM/AVG accumulator of a DECIMAL argument of scale `scale`. */
export function decimalSum(scale: number): DecimalSum {
  const avgScale = Math.max(MINIMUM_ADJUSTED_SCALE, scale);
  const big = (s: number | string): bigint => BigInt(s);
  const norm = (r: bigint): number | string => (r < SAFE && r > -SAFE ? Number(r) : r.toString());
  const add = (sum: number | string | null, v: number, delta: 1 | -1): number | string => {
    const iv = scaledFast(v, scale);
    if (iv === iv && (typeof sum === 'number' || sum === null)) {
      const r = (sum ?? 0) + delta * iv;
      if (Math.abs(r) < SAFE) return r;
    }
    return norm(big(sum ?? 0) + BigInt(delta) * scaled(v, scale));
  };
  return {
    add,
    merge: (x, y) =>
      x === null
        ? y
        : y === null
          ? x
          : typeof x === 'number' && typeof y === 'number' && Math.abs(x + y) < SAFE
            ? x + y
            : norm(big(x) + big(y)),
    sum: (s) => (s === null ? null : toNumber(big(s), scale, MAX_PRECISION)),
    // Flink's AVG is the sum divided by the count (DecimalDataUtils.divide) at DECIMAL(38, max(6, s)).
    avg: (s, n) =>
      s === null || n === 0 ? null : toNumber(divide(big(s), BigInt(n) * 10n ** BigInt(scale), avgScale), avgScale, MAX_PRECISION),
  };
}

/** The casts a sink applies: per column index whose type is DECIMAL(p, s) and the query's value may not fit it; undefined when none. */
export function sinkCasts(from: readonly SqlType[], to: readonly SqlType[]): Array<[number, (v: unknown) => number | null]> | undefined {
  const casts: Array<[number, (v: unknown) => number | null]> = [];
  to.forEach((t, i) => {
    if (t.name === 'DECIMAL' && t.scale !== undefined && !fitsDecimal(from[i]!, t.precision!, t.scale))
      casts.push([i, decimalCast(t.precision!, t.scale)]);
  });
  return casts.length > 0 ? casts : undefined;
}
