/**
 * Exact DECIMAL multiplication, after Flink's rules. A DECIMAL value stays a JS number in rows
 * (JSON sinks write the plain decimal number, as Flink's JSON format does), but it always holds
 * the double nearest the exact decimal: a product is computed on the operands' scaled integers
 * (exact) and divided once by 10^scale (one correctly rounded step), never as a double product,
 * whose rounding differs from Flink's exact DECIMAL result in the last bit for about 1 row in 5.
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

/** `a * b` exactly for operands of scales sa and sb, rounded HALF_UP to the result's scale. */
export function decimalMultiply(sa: number, sb: number, resultScale: number): (a: number, b: number) => number {
  const fa = POW10[sa]!;
  const fb = POW10[sb]!;
  const drop = sa + sb - resultScale;
  const out = POW10[resultScale]!;
  return (a, b) => {
    const ia = Math.round(a * fa);
    const ib = Math.round(b * fb);
    const p = ia * ib;
    if (drop === 0 && Number.isSafeInteger(p) && resultScale < POW10.length) return p / out;
    return exactProduct(BigInt(ia) * BigInt(ib), drop, resultScale);
  };
}

/** The slow path: a product beyond 2^53 or one whose scale is cut, as a decimal string parsed once (correctly rounded). */
function exactProduct(p: bigint, drop: number, scale: number): number {
  if (drop > 0) {
    const d = 10n ** BigInt(drop);
    const half = d / 2n;
    p = p >= 0n ? (p + half) / d : -((-p + half) / d);
  }
  const neg = p < 0n;
  const digits = (neg ? -p : p).toString().padStart(scale + 1, '0');
  const text = scale === 0 ? digits : `${digits.slice(0, digits.length - scale)}.${digits.slice(digits.length - scale)}`;
  return Number(neg ? `-${text}` : text);
}
