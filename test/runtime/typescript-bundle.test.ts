// test-lane: pair
// A TypeScript job outside this package, with a TypeScript helper of its own and a data file
// found through import.meta.url, compiled once in the main thread (core/runtime/job-bundle.ts):
// every worker imports the bundle, and the job computes what it computes when loaded through
// tsx. The expectation is computed here from the data file, without the engine.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runJob } from '../../core/index.js';
import { JOB_BUNDLE_DIR } from '../../core/runtime/job-bundle.js';
import { jobModuleFor } from '../../core/runtime/module-loader.js';

const JOB = `import { defineJob, Sources, Sinks } from 'eddy';
import { readFileSync } from 'node:fs';
import { scoreOf, type Scored } from './lib/score.ts';

// Read while building, in every thread: it must be this file's folder, not the bundle's.
const weights: Record<string, number> = JSON.parse(readFileSync(new URL('./weights.json', import.meta.url), 'utf8'));

export default defineJob((env) => {
  env
    .fromSource(Sources.textFile(env.arg('input')), 'lines')
    .uid('lines')
    .map((line: string): Scored => scoreOf(line, weights))
    .uid('score')
    .sinkTo(Sinks.jsonLinesFile(env.arg('output')))
    .uid('sink');
});
`;

const LIB = `export interface Scored { word: string; score: number; from: string }
export function scoreOf(word: string, weights: Record<string, number>): Scored {
  return { word, score: (weights[word] ?? 0) * word.length, from: import.meta.url.slice(-8) };
}
`;

describe('a TypeScript job compiled once for every thread', () => {
  let dir: string;
  const words = Array.from({ length: 500 }, (_, i) => ['ant', 'bee', 'cat', 'dog', 'eel'][i % 5]! + (i % 7));
  const weights: Record<string, number> = {};
  for (let i = 0; i < 7; i++) weights[`bee${i}`] = i + 1;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'eddy-ts-bundle-'));
    mkdirSync(join(dir, 'lib'));
    writeFileSync(join(dir, 'job.ts'), JOB);
    writeFileSync(join(dir, 'lib', 'score.ts'), LIB);
    writeFileSync(join(dir, 'weights.json'), JSON.stringify(weights));
    writeFileSync(join(dir, 'input.txt'), words.join('\n') + '\n');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('runs from its bundle in every worker, with its own files and import.meta.url', async () => {
    const out = join(dir, 'out');
    const job = join(dir, 'job.ts');
    const result = await runJob(job, { parallelism: 2, args: { input: join(dir, 'input.txt'), output: out } });
    assert.equal(result.restarts, 0);
    // Workers import what the main thread compiled: one JavaScript module in the bundle folder.
    const module = jobModuleFor(job);
    assert.ok(module.startsWith(JOB_BUNDLE_DIR) && module.endsWith('.mjs'), `workers import ${module}`);
    assert.doesNotMatch(readFileSync(module, 'utf8'), /interface Scored|: Record<string, number>/);

    const got: { word: string; score: number; from: string }[] = [];
    for (const f of readdirSync(out)) {
      for (const l of readFileSync(join(out, f), 'utf8').split('\n')) if (l) got.push(JSON.parse(l));
    }
    const expected = words.map((w) => ({ word: w, score: (weights[w] ?? 0) * w.length, from: 'score.ts' }));
    const order = (a: { word: string; score: number }, b: { word: string; score: number }) =>
      a.word < b.word ? -1 : a.word > b.word ? 1 : 0;
    assert.deepEqual(got.sort(order), expected.sort(order));
  });
});
