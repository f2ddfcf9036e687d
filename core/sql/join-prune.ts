/**
 * Columns pruned below a join (Flink's ProjectJoinTransposeRule): each side of a join keeps
 * only the columns the join's conditions and the query above it read. A join's inputs are
 * keyed across threads and kept in join state, so a column nobody reads is serialized, sent
 * and stored for nothing; the Nexmark auction's description and extra and the bid's url and
 * channel are most of a record. The narrowing composes onto the side's pending calc (calc.ts),
 * so it adds no operator where a filter or projection is already there.
 *
 * What the query above reads is its references (`reads`); a `*` keeps every column of the
 * sides it names (all of them, unqualified), and without `reads` nothing is pruned. A side's
 * time attribute and window columns are always kept: the join picks its kind by them.
 */
import type { Expr } from './ast.js';
import { narrowed } from './calc.js';
import type { Rel } from './relation.js';
import { tryResolveRef } from './scope.js';
import type { UidNamer } from './uids.js';

/** The references and stars of `e` and everything under it (subqueries are not expressions here). */
export function refsOf(e: unknown, into: Array<Expr & { k: 'ref' | 'star' }> = []): Array<Expr & { k: 'ref' | 'star' }> {
  if (e === null || typeof e !== 'object') return into;
  if (Array.isArray(e)) {
    for (const x of e) refsOf(x, into);
    return into;
  }
  const x = e as Expr;
  if ('k' in x && (x.k === 'ref' || x.k === 'star')) into.push(x);
  else for (const v of Object.values(e)) refsOf(v, into);
  return into;
}

/** The keys of `side` that `refs` read (a ref resolving on this side alone, or on both: an ambiguous one stays ambiguous). */
function keysRead(side: Rel, refs: ReadonlyArray<Expr & { k: 'ref' | 'star' }>): Set<string> | undefined {
  const keep = new Set<string>();
  for (const r of refs) {
    if (r.k === 'star') {
      if (r.qual === undefined || side.fields.some((f) => f.qual?.toLowerCase() === r.qual!.toLowerCase())) return undefined;
      continue;
    }
    const found = tryResolveRef(side.fields, r); // undefined: not a column of this side
    if (found !== undefined) keep.add(found.key);
  }
  for (const k of [side.rowtime, side.window?.timeKey, side.window?.startKey, side.window?.endKey]) if (k) keep.add(k);
  return keep;
}

/**
 * `rel` (one side of a join) narrowed to the columns `refs` read: the references of the join's
 * ON and WHERE and of the query over the join (refsOf); unchanged without `refs` or when it
 * needs every column.
 */
export function pruned(rel: Rel, refs: ReadonlyArray<Expr & { k: 'ref' | 'star' }> | undefined, uids: UidNamer): Rel {
  const keep = refs === undefined ? undefined : keysRead(rel, refs);
  return keep === undefined ? rel : narrowed(rel, keep, uids);
}

/**
 * True when a reference of `refs` names a column of neither side: the query is wrong, and the
 * error it gets must list the sides' columns before pruning, so the join keeps them all.
 */
export function namesUnknown(refs: ReadonlyArray<Expr & { k: 'ref' | 'star' }> | undefined, l: Rel, r: Rel): boolean {
  const resolves = (rel: Rel, e: Expr & { k: 'ref' }): boolean => tryResolveRef(rel.fields, e) !== undefined;
  return refs !== undefined && refs.some((e) => e.k === 'ref' && !resolves(l, e) && !resolves(r, e));
}
