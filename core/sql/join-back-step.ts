/**
 * The join-back's work at a window's end (join-back.ts) as generated loops that make no object
 * per row of X. Run through the sides' calcs, each row of X became three objects: the
 * aggregate side's projection (q5: `num, starttime, endtime` for the MAX), the join side's
 * projection, and the joined pair the residual condition (`num >= maxn`) reads; nearly all of
 * them are dropped by that condition (q5 keeps the rows at the maximum). Where each side's
 * calcs only copy columns of X, both loops read X's columns straight into one scratch row of
 * the shape the calcs would have built, overwritten per row, and only a row the residual keeps
 * is copied out: one object per output row, of the same keys in the same order as the pair the
 * join would have combined, so the output does not depend on which form runs.
 *
 * A scratch row may stand for the built rows because nothing keeps them: the aggregate's add
 * step keeps values, and the residual is a condition over plain columns of the pair (no memo
 * keyed by the row object: those belong to a calc's computed columns, and a copy is not one).
 */
import type { Collector } from '../contract/functions.js';
import { generate } from './codegen.js';
import type { Row } from './expressions.js';
import type { PairColumn } from './row-builder.js';

/**
 * How a row the calcs would build reads X's row: its keys in order, each from a column of X,
 * or undefined when the calcs are the identity (the row is X's own).
 */
export type Copies = ReadonlyArray<readonly [key: string, from: string]> | undefined;

/** Source text of a scratch row of `keys`, every column NULL (its shape fixed from the start). */
function scratchJs(keys: readonly string[]): string {
  return `({ ${keys.map((k) => `${JSON.stringify(k)}: null`).join(', ')} })`;
}

/**
 * The value of X's column `from` in row `r` (a missing column is NULL), or `ws` where `from` is
 * `start`: a TUMBLE or HOP window's window_start, which is its window_end - size, the same for
 * every row of a group, so X's rows need not carry it (join-back.ts narrows them).
 */
function readJs(from: string, start: string | undefined): string {
  return from === start ? 'ws' : `(r[${JSON.stringify(from)}] ?? null)`;
}

/** Statements copying X's row `r` into the scratch row `s` as the calcs' plain copies do. */
function copyJs(copies: NonNullable<Copies>, start: string | undefined): string {
  return copies.map(([k, from]) => `s[${JSON.stringify(k)}] = ${readJs(from, start)};`).join(' ');
}

/** The generated loops' signatures: `ws` is the group's window_start where X's rows leave it out (see readJs). */
export type FeedStep = (rows: readonly Row[], acc: unknown, ws?: unknown) => unknown;
export type JoinStep = (rows: readonly Row[], a: Row, out: Collector<Row>, ws?: unknown) => void;

/**
 * `(rows, acc, ws) => acc`: each row of X added to the aggregate's accumulator through `add`, as
 * the row the aggregate side's calcs (`copies`) would have built from it; X's column `start`,
 * if given, read as `ws`.
 */
export function feedStep(copies: Copies, add: (row: Row, acc: unknown) => unknown, start?: string): FeedStep {
  if (copies === undefined && start !== undefined) throw new Error('feedStep: X read as it is cannot leave out window_start');
  return generate<FeedStep>('rows, acc, ws', (b) => {
    const addFn = b.bind(add);
    if (copies === undefined) return `for (let i = 0; i < rows.length; i++) acc = ${addFn}(rows[i], acc); return acc;`;
    return `const s = ${scratchJs(copies.map(([k]) => k))}; for (let i = 0; i < rows.length; i++) { const r = rows[i]; ${copyJs(copies, start)} acc = ${addFn}(s, acc); } return acc;`;
  }).fn;
}

/**
 * `(rows, a, out, ws)`: each row of X joined with the aggregate side's row `a` and collected when
 * `residual` (over the joined pair) is TRUE. `pick` is the pair's columns as the join combines
 * it; `xSide` which side of the pair X's rows are; `copies` how the join side's calcs build that
 * side's row from X's; X's column `start`, if given, read as `ws`.
 */
export function joinStep(
  pick: readonly PairColumn[],
  xSide: 0 | 1,
  copies: Copies,
  residual: ((row: Row) => boolean) | undefined,
  start?: string,
): JoinStep {
  const from = copies === undefined ? undefined : new Map(copies.map(([k, f]) => [k, f]));
  return generate<JoinStep>('rows, a, out, ws', (b) => {
    const key = (k: string): string => JSON.stringify(k);
    // The side's row as the calcs build it: a plain copy of X's column (NULL when absent), or X's row itself.
    const xRead = (k: string): string => (from === undefined ? (k === start ? 'ws' : `r[${key(k)}]`) : readJs(from.get(k)!, start));
    const xCols = pick.filter(([, side]) => side === xSide);
    const aCols = pick.filter(([, side]) => side !== xSide);
    const setX = xCols.map(([k, , f]) => `s[${key(k)}] = ${xRead(f)};`).join(' ');
    const copyOut = `({ ${pick.map(([k]) => `${key(k)}: s[${key(k)}]`).join(', ')} })`;
    const keep = residual === undefined ? 'true' : `${b.bind(residual)}(s)`;
    return (
      `const s = ${scratchJs(pick.map(([k]) => k))}; ${aCols.map(([k, , f]) => `s[${key(k)}] = a[${key(f)}];`).join(' ')} ` +
      `for (let i = 0; i < rows.length; i++) { const r = rows[i]; ${setX} if (${keep}) out.collect(${copyOut}); }`
    );
  }).fn;
}
