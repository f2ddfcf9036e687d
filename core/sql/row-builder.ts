/**
 * Builds output rows of a projection. The builder is generated once at plan time as one object
 * literal (`(r) => ({ "a": f[0](r), "b": f[1](r) })`), so every row it makes has the same
 * hidden class from the start; assigning computed keys one by one in a loop makes V8 walk a
 * keyed store and a shape transition per column per record (most of a projection's cost in
 * q0-q2 by a CPU profile).
 */
import type { Row } from './expressions.js';

/** A function making a row with `keys[i]` set to `fns[i](input)`. */
export function rowBuilder(keys: readonly string[], fns: ReadonlyArray<(row: Row) => unknown>): (row: Row) => Row {
  // '__proto__' in an object literal sets the prototype instead of a property.
  if (keys.includes('__proto__')) {
    const n = keys.length;
    return (r) => {
      const o: Row = {};
      for (let i = 0; i < n; i++) Object.defineProperty(o, keys[i]!, { value: fns[i]!(r), enumerable: true, writable: true, configurable: true });
      return o;
    };
  }
  const body = `return (r) => ({ ${keys.map((k, i) => `${JSON.stringify(k)}: f[${i}](r)`).join(', ')} });`;
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- keys are JSON-quoted, values come from the closures in f
  return new Function('f', body)(fns) as (row: Row) => Row;
}
