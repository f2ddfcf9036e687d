/**
 * Builds output rows of a projection. The builder is generated once at plan time as one object
 * literal (`(r) => ({ "a": f[0](r), "b": r["x"]?.["y"] ?? null })`), so every row it makes has
 * the same hidden class from the start; assigning computed keys one by one in a loop makes V8
 * walk a keyed store and a shape transition per column per record (most of a projection's cost
 * in q0-q2 by a CPU profile). A column that only reads a field (or a field of a ROW field) is
 * written inline as a property read instead of a closure call.
 */
import type { Row } from './expressions.js';

/** How an output column is computed: a function of the input row, or a read of `path[0]`, then `path[1]`, … (NULL when absent). */
export type ColumnFn = ((row: Row) => unknown) | readonly string[];

/** The column as a function. */
export function columnFn(c: ColumnFn): (row: Row) => unknown {
  if (typeof c === 'function') return c;
  const [key, ...path] = c;
  if (path.length === 0) return (r) => r[key!] ?? null;
  return (r) => {
    let v: unknown = r[key!];
    for (const p of path) v = v === null || v === undefined ? null : (v as Row)[p];
    return v ?? null;
  };
}

/** A function making a row with `keys[i]` set to column `fns[i]` of the input. */
export function rowBuilder(keys: readonly string[], fns: readonly ColumnFn[]): (row: Row) => Row {
  // '__proto__' in an object literal sets the prototype instead of a property.
  if (keys.includes('__proto__')) {
    const n = keys.length;
    const f = fns.map(columnFn);
    return (r) => {
      const o: Row = {};
      for (let i = 0; i < n; i++) Object.defineProperty(o, keys[i]!, { value: f[i]!(r), enumerable: true, writable: true, configurable: true });
      return o;
    };
  }
  const value = (c: ColumnFn, i: number): string =>
    typeof c === 'function' ? `f[${i}](r)` : `(r${c.map((p, j) => `${j === 0 ? '' : '?.'}[${JSON.stringify(p)}]`).join('')} ?? null)`;
  const body = `return (r) => ({ ${keys.map((k, i) => `${JSON.stringify(k)}: ${value(fns[i]!, i)}`).join(', ')} });`;
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- keys and paths are JSON-quoted, values come from the closures in f
  return new Function('f', body)(fns) as (row: Row) => Row;
}
