// The committed output of test/fixtures/jobs/validating.mjs and what a fault-free run would
// commit, computed with a plain loop (never with the engine).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ValidatingRecord {
  i: number;
  key: number;
  seq: number;
  sum: number;
}

/** Every record in the visible (committed) files of `dir`; hidden files are in progress or pending. */
export function readCommitted<T = ValidatingRecord>(dir: string): T[] {
  const out: T[] = [];
  for (const f of readdirSync(dir)) {
    if (f.startsWith('.')) continue;
    for (const line of readFileSync(join(dir, f), 'utf8').split('\n')) if (line) out.push(JSON.parse(line) as T);
  }
  return out;
}

/** Lost, duplicated and wrong records against the fault-free output of `count` records over `keys` keys. */
export function compareWithFaultFree(
  out: ValidatingRecord[],
  count: number,
  keys: number,
): { lost: number; duplicated: number; wrong: number } {
  const byIndex: (ValidatingRecord | undefined)[] = new Array(count);
  let duplicated = 0;
  for (const o of out) {
    if (byIndex[o.i] !== undefined) duplicated++;
    else byIndex[o.i] = o;
  }
  const sums = new Float64Array(keys);
  let lost = 0;
  let wrong = 0;
  for (let i = 0; i < count; i++) {
    const k = i % keys;
    sums[k] += (i * 7919) % 1000;
    const o = byIndex[i];
    if (!o) lost++;
    else if (o.key !== k || o.seq !== Math.floor(i / keys) || o.sum !== sums[k]) wrong++;
  }
  return { lost, duplicated, wrong };
}
