// The random changelogs the changelog tests feed in: two tables changed by inserts, updates
// (-U then +U of the same row id) and deletes, made from a seed so the job (on every worker)
// and the test (for its reference) see the same changes. These are inputs only: the expected
// results are computed in the tests.
import type { ChangeRow, Row } from '../../core/sql/runtime/index.js';
import { prng } from '../helpers/prng.js';

const ORDER_CATS = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', null];
const DIM_CATS = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'x', null];

function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)];
}

/**
 * `n` changes drawn from `r`: with probability `pInsert` (or when nothing is live) the row
 * `insert` makes, below `pUpdate` a live row replaced by `update(old)` (-U old, +U new),
 * otherwise a live row deleted.
 */
function randomChanges(
  r: () => number,
  n: number,
  pInsert: number,
  pUpdate: number,
  insert: (live: Row[]) => Row,
  update: (old: Row) => Row,
): ChangeRow[] {
  const live: Row[] = [];
  const out: ChangeRow[] = [];
  while (out.length < n) {
    const x = r();
    if (live.length === 0 || x < pInsert) {
      const row = insert(live);
      live.push(row);
      out.push({ kind: '+I', row });
    } else if (x < pUpdate && out.length + 2 <= n) {
      const i = Math.floor(r() * live.length);
      const old = live[i];
      const row = update(old);
      live[i] = row;
      out.push({ kind: '-U', row: old }, { kind: '+U', row });
    } else {
      const i = Math.floor(r() * live.length);
      const [old] = live.splice(i, 1);
      out.push({ kind: '-D', row: old });
    }
  }
  return out;
}

/**
 * `n` changes of the orders table (id, cat, amount, tag): a fresh id inserted, a live row
 * updated (its cat or amount changes: -U old, +U new), or a live row deleted. cat and amount are
 * sometimes null.
 */
export function orderChanges(seed: number, n: number): ChangeRow[] {
  const r = prng(seed);
  let nextId = 0;
  return randomChanges(
    r,
    n,
    0.45,
    0.8,
    () => ({ id: nextId++, cat: pick(r, ORDER_CATS), amount: r() < 0.1 ? null : Math.floor(r() * 100), tag: r() < 0.5 ? 'x' : 'y' }),
    (old) => (r() < 0.5 ? { ...old, cat: pick(r, ORDER_CATS) } : { ...old, amount: r() < 0.1 ? null : Math.floor(r() * 100) }),
  );
}

/**
 * `n` changes of the dimension table (rid, cat, lim), a multiset: besides fresh rows, an insert
 * may repeat a live row exactly (so rows have multiplicities), and updates and deletes take one
 * copy.
 */
export function dimChanges(seed: number, n: number): ChangeRow[] {
  const r = prng(seed ^ 0x5eed);
  let nextId = 0;
  return randomChanges(
    r,
    n,
    0.4,
    0.75,
    (live) =>
      live.length > 0 && r() < 0.25
        ? { ...pick(r, live) }
        : { rid: nextId++, cat: pick(r, DIM_CATS), lim: r() < 0.1 ? null : Math.floor(r() * 100) },
    (old) => (r() < 0.5 ? { ...old, cat: pick(r, DIM_CATS) } : { ...old, lim: Math.floor(r() * 100) }),
  );
}

/** The ON condition besides the equi-join on cat: `o.amount < d.lim` (false when either is null, as SQL). */
export function joinCondition(o: Row, d: Row): boolean {
  return o.amount !== null && d.lim !== null && (o.amount as number) < (d.lim as number);
}

/** The output row of the joins: the order's and the dimension row's columns, null when padded. */
export function joinRow(o: Row | null, d: Row | null): Row {
  return {
    oid: o?.id ?? null,
    ocat: o?.cat ?? null,
    amount: o?.amount ?? null,
    tag: o?.tag ?? null,
    rid: d?.rid ?? null,
    dcat: d?.cat ?? null,
    lim: d?.lim ?? null,
  };
}

/** The join types the tests run, each into its own sink. */
export const JOIN_TYPES = ['inner', 'left', 'right', 'full'] as const;
