/**
 * Tables whose columns come from arrays written in the test: a paced datagen table gives the
 * row number, and a CREATE FUNCTION per column looks the value up (sql-join-back, sql-q7-retention).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Writes `<dir>/<name>.mjs` per column: a BIGINT function whose value at i is `values[i]` (null: NULL). */
export function writeLookupFunctions(dir: string, columns: Record<string, ReadonlyArray<number | null>>): void {
  for (const [name, values] of Object.entries(columns)) {
    writeFileSync(
      join(dir, `${name}.mjs`),
      `const v = ${JSON.stringify(values)};\nexport default function at(i) { return v[i]; }\nat.resultType = 'BIGINT';\n`,
    );
  }
}
