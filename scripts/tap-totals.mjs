// The counts a `node --test` run prints at its end (`# tests 12` in TAP, `ℹ tests 12` from the
// spec reporter), summed over the files of a run for one combined summary.
export const COUNTS = ['tests', 'suites', 'pass', 'fail', 'cancelled', 'skipped', 'todo'];
const LINE = new RegExp(`^(?:#|ℹ) (${COUNTS.join('|')}) (\\d+)$`, 'gm');

export function emptyTotals() {
  return Object.fromEntries(COUNTS.map((c) => [c, 0]));
}

/** Adds the counts found in one file's output to `totals` (the last value of each wins). */
export function addTotals(totals, output) {
  const found = {};
  for (const m of output.matchAll(LINE)) found[m[1]] = Number(m[2]);
  for (const [c, n] of Object.entries(found)) totals[c] += n;
  return totals;
}
