/**
 * A window aggregate's add step as ONE generated function: each aggregate call's update is
 * written inline, its argument and FILTER as their source text. The loop it replaces called
 * each argument's closure from one shared call site, which in a worker sees the aggregates of
 * every plan and reads each column by a key V8 cannot inline: q5's join-back spent as much in
 * that loop (its MAX over every counted row at the window's end) as the DataStream q5's whole
 * second stage. A call without a generated form here (AVG, a DECIMAL SUM, COUNT DISTINCT) runs
 * `fallback` as the loop did, so the results do not depend on which form runs.
 */
import { generate, jsOf } from './codegen.js';
import type { Row } from './expressions.js';
import type { AggregateKind } from './runtime/index.js';

/** What the add step needs of an aggregate call. */
export interface AddableCall {
  kind: AggregateKind;
  arg?: { fn: (row: Row) => unknown };
  filter?: (row: Row) => boolean;
  dec?: unknown;
}

/** `(row, states) => void`: adds `row` to each call's state in `states` (append-only: windows never retract). */
export function addStep<A extends AddableCall>(
  aggs: readonly A[],
  fallback: (a: A, state: unknown, row: Row) => unknown,
): (row: Row, states: unknown[]) => void {
  return generate<(row: Row, states: unknown[]) => void>('r, s', (b) =>
    aggs
      .map((a, i) => {
        const at = `s[${i}]`;
        const inline = inlineUpdate(a, at, a.arg === undefined ? undefined : jsOf(a.arg.fn)(b, 'r'));
        if (inline === undefined) return `${at} = ${b.bind(fallback)}(${b.bind(a)}, ${at}, r);`;
        // As the loop: a FILTER that is not TRUE-ish leaves the state as it is.
        return a.filter === undefined ? inline : `if (${jsOf(a.filter)(b, 'r')}) { ${inline} }`;
      })
      .join(' '),
  ).fn;
}

/** The update of state `at` by one row for the calls kept as plain numbers; undefined for the others. */
function inlineUpdate(a: AddableCall, at: string, arg: string | undefined): string | undefined {
  if (a.kind === 'count*') return `${at} = ${at} + 1;`;
  if (arg === undefined || a.dec !== undefined) return undefined;
  // A NULL argument leaves every one of these as it is.
  const withValue = (update: string): string => `{ const v = ${arg}; if (v !== null && v !== undefined) { ${update} } }`;
  switch (a.kind) {
    case 'count':
      return withValue(`${at} = ${at} + 1;`);
    case 'sum':
      return withValue(`const t = ${at}; ${at} = t === null ? v : t + v;`);
    case 'min':
      return withValue(`const t = ${at}; if (t === null || v < t) ${at} = v;`);
    case 'max':
      return withValue(`const t = ${at}; if (t === null || v > t) ${at} = v;`);
    default:
      return undefined;
  }
}
