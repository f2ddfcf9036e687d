/**
 * Builds output rows of a projection. The builder is generated once at plan time as one object
 * literal (`(r) => ({ "a": f[0](r), "b": r["x"]?.["y"] ?? null })`), so every row it makes has
 * the same hidden class from the start; assigning computed keys one by one in a loop makes V8
 * walk a keyed store and a shape transition per column per record (most of a projection's cost
 * in q0-q2 by a CPU profile). Every column with source text (codegen.ts) is written inline;
 * one without it is a call of its closure.
 */
import { Binder, generate, jsOf, readJs, withJs, type Js } from './codegen.js';
import type { Row } from './expressions.js';

/** How an output column is computed: a function of the input row, or a read of `path[0]`, then `path[1]`, … (NULL when absent). */
export type ColumnFn = ((row: Row) => unknown) | readonly string[];

/** The column as a function (a read carries its source text). */
export function columnFn(c: ColumnFn): (row: Row) => unknown {
  if (typeof c === 'function') return c;
  const [key, ...path] = c;
  const js: Js = (_, row) => readJs(row, key!, path);
  if (path.length === 0) return withJs((r: Row) => r[key!] ?? null, js);
  return withJs((r: Row) => {
    let v: unknown = r[key!];
    for (const p of path) v = v === null || v === undefined ? null : (v as Row)[p];
    return v ?? null;
  }, js);
}

/** Source text of an object literal with `keys[i]` set to column `fns[i]` of the row `row`. */
export function rowJs(b: Binder, row: string, keys: readonly string[], fns: readonly ColumnFn[]): string {
  if (keys.includes('__proto__')) return `${b.opaque(rowBuilder(keys, fns))}(${row})`;
  return `({ ${keys.map((k, i) => `${JSON.stringify(k)}: ${jsOf(columnFn(fns[i]!))(b, row)}`).join(', ')} })`;
}

/** A function making a row with `keys[i]` set to column `fns[i]` of the input. */
export function rowBuilder(keys: readonly string[], fns: readonly ColumnFn[]): (row: Row) => Row {
  // '__proto__' in an object literal sets the prototype instead of a property.
  if (keys.includes('__proto__')) {
    const n = keys.length;
    const f = fns.map(columnFn);
    return (r) => {
      const o: Row = {};
      for (let i = 0; i < n; i++)
        Object.defineProperty(o, keys[i]!, { value: f[i]!(r), enumerable: true, writable: true, configurable: true });
      return o;
    };
  }
  return generate<(row: Row) => Row>('r', (b) => `return ${rowJs(b, 'r', keys, fns)};`).fn;
}

/**
 * A function combining a join's pair of rows (either NULL on an outer join's padded side) into
 * one: `lKeys` copied from the left row, the right row's `rFrom[i]` as `rTo[i]`; generated as
 * one object literal, like a projection's row.
 */
export function pairBuilder(
  lKeys: readonly string[],
  rFrom: readonly string[],
  rTo: readonly string[],
): (a: Row | null, b: Row | null) => Row {
  return pickBuilder(pairColumns(lKeys, rFrom, rTo));
}

/** The columns of a join's pair: `lKeys` from the left row, the right row's `rFrom[i]` as `rTo[i]`. */
export function pairColumns(lKeys: readonly string[], rFrom: readonly string[], rTo: readonly string[]): PairColumn[] {
  return [...lKeys.map((k): PairColumn => [k, 0, k]), ...rTo.map((k, i): PairColumn => [k, 1, rFrom[i]!])];
}

/** An output column of a pair: its key, the side it is read from (0 left, 1 right) and the key it has there. */
export type PairColumn = readonly [key: string, side: 0 | 1, from: string];

/** A function building a row of `cols` from a pair of rows (either NULL: its columns NULL), as one object literal. */
export function pickBuilder(cols: readonly PairColumn[]): (a: Row | null, b: Row | null) => Row {
  if (cols.some(([k]) => k === '__proto__')) {
    return (a, b) => {
      const o: Row = {};
      for (const [k, side, from] of cols) {
        const row = side === 0 ? a : b;
        Object.defineProperty(o, k, { value: row === null ? null : row[from], enumerable: true, writable: true, configurable: true });
      }
      return o;
    };
  }
  const read = (row: string, k: string): string => `(${row} === null ? null : ${row}[${JSON.stringify(k)}])`;
  const js = cols.map(([k, side, from]) => `${JSON.stringify(k)}: ${read(side === 0 ? 'a' : 'b', from)}`);
  return new Binder().build('a, b', `return ({ ${js.join(', ')} });`);
}
