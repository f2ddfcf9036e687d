/**
 * Retractable accumulators of the group aggregate (Flink's *WithRetractAggFunction), as plain
 * arrays and numbers so every state backend stores them as they are:
 *   COUNT(*), COUNT(x)   n                       rows (non-null x) counted
 *   SUM(x), AVG(x)       [sum, n]                n non-null values: SUM is null when n = 0 (an exact
 *                                                DECIMAL sum is a number or, past 2^53, a decimal string)
 *   MIN, MAX,            [[value, count], …]     the multiset of values, sorted by value:
 *   COUNT(DISTINCT x)                            a retraction of the minimum needs the next one
 * A retraction of a value that is not there (state expired by TTL) is ignored. Over an
 * insert-only input MIN and MAX keep only their extreme, as the value itself (null before the
 * first), as Flink's plain MinAggFunction/MaxAggFunction: no pair per new extreme. A one-pair
 * multiset there (a savepoint of the earlier form) is read as its value.
 */
import type { Row } from './changelog.js';
import type { AggregateSpec } from './group-aggregate.js';

/** A value multiset, sorted by value: [value, count] pairs with count > 0. */
export type Multiset = [unknown, number][];

/** One aggregate's accumulator (see the module comment for each kind). */
export type Accumulator = number | [number, number] | Multiset | Extreme;

/** An insert-only MIN or MAX: the extreme so far (a SQL scalar), or null before the first value. */
export type Extreme = string | number | bigint | boolean | null;

/** The spec of an aggregate as the group aggregate runs it: an insert-only MIN/MAX keeps only its extreme. */
export type RunSpec = AggregateSpec & { keepOnlyExtreme?: boolean };

/** SQL's order of comparable values (numbers, strings, booleans, bigints); nulls never get here. */
export function compareValues(a: unknown, b: unknown): number {
  return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
}

/** Index of the first pair whose value is ≥ v. */
function lowerBound(set: Multiset, v: unknown): number {
  let lo = 0;
  let hi = set.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareValues(set[mid][0], v) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function addToSet(set: Multiset, v: unknown, delta: 1 | -1): void {
  const i = lowerBound(set, v);
  if (i < set.length && compareValues(set[i][0], v) === 0) {
    set[i][1] += delta;
    if (set[i][1] <= 0) set.splice(i, 1);
  } else if (delta > 0) {
    set.splice(i, 0, [v, 1]);
  }
}

/** A new, empty accumulator of `spec`. */
export function createAccumulator(spec: RunSpec): Accumulator {
  switch (spec.kind) {
    case 'count*':
    case 'count':
      return 0;
    case 'sum':
    case 'avg':
      return [0, 0];
    default:
      return spec.keepOnlyExtreme === true ? null : [];
  }
}

/**
 * Adds (delta 1) or retracts (delta -1) `row` into `acc` and returns the accumulator (a number
 * or an extreme is returned anew; arrays change in place).
 */
export function accumulate(spec: RunSpec, acc: Accumulator, row: Row, delta: 1 | -1): Accumulator {
  if (spec.filter !== undefined && spec.filter(row) !== true) return acc;
  if (spec.kind === 'count*') return (acc as number) + delta;
  const v = spec.arg!(row);
  if (v === null || v === undefined) return acc;
  switch (spec.kind) {
    case 'count':
      return (acc as number) + delta;
    case 'sum':
    case 'avg': {
      const s = acc as [number, number];
      if (spec.exact !== undefined) s[0] = spec.exact.add(s[0], v, delta) as number;
      else s[0] += delta * (v as number);
      s[1] += delta;
      return s;
    }
    default: {
      if (spec.keepOnlyExtreme === true) {
        const cur = Array.isArray(acc) ? extremeOf(spec, acc as Multiset) : acc;
        if (cur === null) return v as Extreme;
        const c = compareValues(v, cur);
        return ((spec.kind === 'min' ? c < 0 : c > 0) ? v : cur) as Extreme;
      }
      addToSet(acc as Multiset, v, delta);
      return acc;
    }
  }
}

/** A multiset's MIN or MAX, or null when empty. */
function extremeOf(spec: Pick<AggregateSpec, 'kind'>, m: Multiset): unknown {
  if (m.length === 0) return null;
  return spec.kind === 'min' ? m[0][0] : m[m.length - 1][0];
}

/** The aggregate's value: SUM, AVG, MIN, MAX of no values are null; COUNTs are 0. */
export function resultOf(spec: Pick<AggregateSpec, 'kind' | 'exact'>, acc: Accumulator): unknown {
  switch (spec.kind) {
    case 'count*':
    case 'count':
      return acc;
    case 'sum':
    case 'avg': {
      const s = acc as [number, number];
      if (s[1] <= 0) return null;
      if (spec.exact !== undefined) return spec.exact.result(s[0], s[1]);
      return spec.kind === 'sum' ? s[0] : s[0] / s[1];
    }
    case 'min':
    case 'max':
      return Array.isArray(acc) ? extremeOf(spec, acc as Multiset) : acc;
    case 'countDistinct':
      return (acc as Multiset).length;
  }
}
