/**
 * A projection of plain columns over an append-only inner join, built by the join itself: the
 * join's combine makes the projected row from the pair at once, instead of a joined row that a
 * calc then copies into the projected one (Nexmark q20: every bid joined with its auction,
 * sixteen columns copied twice). Offered only by a join whose output nothing has read yet and
 * whose relation is read only by the SELECT over it; taken at most once.
 */
import { EddyError } from '../failure.js';
import { nodeOf } from './lineage.js';
import type { AnyStream, Rel } from './relation.js';
import type { ColumnFn } from './row-builder.js';

/** Makes the join emit rows of `keys`, each a copy of the joined row's column `from[i]`; its stream. */
type Fold = (keys: readonly string[], from: readonly string[], text: string) => AnyStream;

const offers = new WeakMap<Rel, Fold>();

/** Lets a projection over `rel` (a join's own relation) be built into the join by `fold`. */
export function offerProjection(rel: Rel, fold: Fold): void {
  offers.set(rel, fold);
}

/**
 * The join under `rel` emitting the projection `keys` ← `columns` itself, when `rel` is a join
 * that offered it and every column is a plain copy of one of its columns; else undefined.
 * `rel` is spent then: reading its stream again is a planner error, not a wrong row.
 */
export function projectedJoin(rel: Rel, keys: readonly string[], columns: readonly ColumnFn[], text: string): AnyStream | undefined {
  const fold = offers.get(rel);
  if (fold === undefined) return undefined;
  const from = columns.map((c) => (typeof c !== 'function' && c.length === 1 ? c[0]! : undefined));
  if (from.some((k) => k === undefined)) return undefined;
  const stream = rel.stream;
  if ((nodeOf(stream)?.outputs.length ?? 1) > 0) return undefined;
  offers.delete(rel);
  const folded = fold(keys, from as string[], text);
  Object.defineProperty(rel, 'stream', {
    get: () => {
      throw new EddyError('INTERNAL', `the SQL planner read a join whose projection it built into the join (${text})`);
    },
  });
  return folded;
}
