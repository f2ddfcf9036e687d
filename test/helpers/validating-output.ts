/**
 * The committed output of the validating job (test/fixtures/jobs/validating.mjs) and its
 * comparison with what a fault-free run commits, computed here without the engine.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Out {
  i: number;
  key: number;
  seq: number;
  sum: number;
}

export function readCommitted(dir: string): Out[] {
  const out: Out[] = [];
  for (const f of readdirSync(dir)) {
    if (f.startsWith('.')) continue; // in-progress and pending files are hidden
    for (const line of readFileSync(join(dir, f), 'utf8').split('\n')) if (line) out.push(JSON.parse(line) as Out);
  }
  return out;
}

/** What a fault-free run commits, computed without the engine. */
function expectedAt(i: number, sums: Float64Array, keys: number): { seq: number; sum: number } {
  const k = i % keys;
  sums[k] += (i * 7919) % 1000;
  return { seq: Math.floor(i / keys), sum: sums[k] };
}

export function compareValidating(out: Out[], count: number, keys: number): { lost: number; duplicated: number; wrong: number } {
  const byIndex: (Out | undefined)[] = new Array(count);
  let duplicated = 0;
  for (const o of out) {
    if (byIndex[o.i] !== undefined) duplicated++;
    else byIndex[o.i] = o;
  }
  const sums = new Float64Array(keys);
  let lost = 0;
  let wrong = 0;
  for (let i = 0; i < count; i++) {
    const e = expectedAt(i, sums, keys);
    const o = byIndex[i];
    if (!o) lost++;
    else if (o.key !== i % keys || o.seq !== e.seq || o.sum !== e.sum) wrong++;
  }
  return { lost, duplicated, wrong };
}

