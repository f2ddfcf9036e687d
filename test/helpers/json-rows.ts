/** Writing JSON-lines input files, reading a JSON-lines sink's committed files back as rows, and comparing row multisets. */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** `rows` as a JSON-lines file at `path`, one object a line. */
export function writeJsonLines(path: string, rows: readonly unknown[]): void {
  writeFileSync(path, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
}

/** Every row of every committed file in `dir` (files starting with '.' are in progress, not committed). */
export function readJsonLinesDir(dir: string): Array<Record<string, unknown>> {
  const rows: Array<Record<string, unknown>> = [];
  for (const f of readdirSync(dir)) {
    if (f.startsWith('.')) continue;
    for (const line of readFileSync(join(dir, f), 'utf8').split('\n')) if (line) rows.push(JSON.parse(line) as Record<string, unknown>);
  }
  return rows;
}

/** A row multiset in a form `deepEqual` compares regardless of row order and key order. */
export const canonRows = (rows: Array<Record<string, unknown>>): string[] =>
  rows.map((r) => JSON.stringify(r, Object.keys(r).sort())).sort();

/** The final rows of a changelog (+I/+U add a row, -U/-D take one away), as `canonRows` gives them. */
export function changelogRows(changes: Array<{ kind: string; row: Record<string, unknown> }>): string[] {
  const counts = new Map<string, number>();
  for (const c of changes) {
    const k = canonRows([c.row])[0]!;
    counts.set(k, (counts.get(k) ?? 0) + (c.kind === '+I' || c.kind === '+U' ? 1 : -1));
  }
  for (const [k, n] of counts) if (n < 0) throw new Error(`the changelog retracts a row it does not hold: ${k}`);
  return [...counts].flatMap(([k, n]) => Array<string>(n).fill(k)).sort();
}
