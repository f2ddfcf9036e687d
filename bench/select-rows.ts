/**
 * `--rows WORD[,WORD]`: the rows of a suite whose name contains every comma-separated word (e.g.
 * `heap` or `p1 heap,exactly-once`); all of them when `rows` is undefined. None matching is an
 * error that lists the suite's rows.
 */
export function selectRows<T>(items: readonly T[], nameOf: (item: T) => string, rows: string | undefined, suite: string): T[] {
  if (rows === undefined) return [...items];
  const words = rows
    .split(',')
    .map((w) => w.trim())
    .filter(Boolean);
  const picked = items.filter((c) => words.every((w) => nameOf(c).includes(w)));
  if (picked.length === 0) throw new Error(`--rows '${rows}' matches no ${suite} row; rows are: ${items.map(nameOf).join('; ')}`);
  return picked;
}
