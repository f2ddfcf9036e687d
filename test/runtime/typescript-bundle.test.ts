// test-lane: pair
// A TypeScript job outside this package, with a TypeScript helper of its own and a data file
// found through import.meta.url, compiled once in the main thread (core/runtime/job-bundle.ts):
// every worker imports the bundle, and the job computes what it computes when loaded through
// tsx. The expectation is computed here from the data file, without the engine. A later process
// takes the bundle built before while the job's files are unchanged, and builds again once one
// of them (the job, a helper it imports) has changed or the bundle is gone.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runJob } from '../../core/index.js';
import { bundleJob, JOB_BUNDLE_DIR, reusableBundle } from '../../core/runtime/job-bundle.js';
import { EDDY_ENTRY } from '../../core/runtime/module-loader.js';
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

  it('a bundle built before is taken while its files are unchanged, and built again when one changed', async () => {
    const job = join(dir, 'job.ts');
    const first = await bundleJob(job, EDDY_ENTRY);
    assert.ok(first !== undefined && existsSync(first));
    assert.equal(reusableBundle(job, EDDY_ENTRY), first, 'unchanged files: the same bundle, without esbuild');
    // A helper the job imports changes: its old bundle must not be taken.
    const lib = join(dir, 'lib', 'score.ts');
    writeFileSync(lib, LIB.replace('* word.length', '* word.length * 10'));
    try {
      assert.equal(reusableBundle(job, EDDY_ENTRY), undefined, 'a changed helper: built again');
      const second = await bundleJob(job, EDDY_ENTRY);
      assert.ok(second !== undefined && second !== first);
      assert.match(readFileSync(second, 'utf8'), /word\.length \* 10/);
      assert.equal(reusableBundle(job, EDDY_ENTRY), second);
      // The bundle it names is gone (a cleaned temporary folder): built again.
      rmSync(second);
      assert.equal(reusableBundle(job, EDDY_ENTRY), undefined, 'a missing bundle: built again');
      assert.equal(await bundleJob(job, EDDY_ENTRY), second);
    } finally {
      writeFileSync(lib, LIB);
    }
    // The job file itself changes.
    writeFileSync(job, JOB.replace("'score'", "'scored'"));
    try {
      assert.equal(reusableBundle(job, EDDY_ENTRY), undefined, 'a changed job file: built again');
    } finally {
      writeFileSync(job, JOB);
    }
  });
});
