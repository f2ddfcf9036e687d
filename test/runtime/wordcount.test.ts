// test-lane: pair
// Word count across worker threads equals an independent single-threaded count, at several
// parallelisms (2 and 4; EDDY_SOAK=1 adds 1: checkpoint/exactly-once keeps a keyed job at 1), and
// every key is counted by exactly one subtask. 1 MB of text (240,000 words, every
// one of the 5,000 words at least once at these sizes); EDDY_SOAK=1: 3 MB.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runJob } from '../../core/index.js';
import { fixture } from '../helpers/paths.js';

const SOAK = process.env.EDDY_SOAK === '1';

interface Counted {
  word: string;
  count: number;
  subtask: number;
}

/** Text with a skewed vocabulary (some words very frequent, many rare). */
function generateText(bytes: number, seed: number): string {
  let x = seed >>> 0;
  const rnd = () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x / 2 ** 32;
  };
  const vocab: string[] = [];
  for (let i = 0; i < 5000; i++) vocab.push(`w${i.toString(36)}${i % 17 === 0 ? 'é' : ''}`);
  const lines: string[] = [];
  let size = 0;
  while (size < bytes) {
    const n = 1 + Math.floor(rnd() * 14);
    const words: string[] = [];
    for (let k = 0; k < n; k++) words.push(vocab[Math.floor(rnd() ** 3 * vocab.length)]);
    const line = words.join(rnd() < 0.1 ? ', ' : ' ');
    lines.push(line);
    size += line.length + 1;
  }
  return lines.join('\n') + '\n';
}

/** The reference: a plain loop over the text, sharing no code with the engine. */
function referenceCount(text: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const line of text.split('\n')) {
    for (const w of line.split(/[^\p{L}\p{N}]+/u)) if (w) counts.set(w, (counts.get(w) ?? 0) + 1);
  }
  return counts;
}

describe('word count across worker threads', () => {
  let dir: string;
  let input: string;
  let expected: Map<string, number>;
  let totalWords = 0;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'eddy-wc-'));
    input = join(dir, 'input.txt');
    const text = generateText((SOAK ? 3 : 1) * 1024 * 1024, 42);
    writeFileSync(input, text);
    expected = referenceCount(text);
    for (const c of expected.values()) totalWords += c;
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const parallelism of SOAK ? [1, 2, 4] : [2, 4]) {
    it(`equals the reference count at parallelism ${parallelism}`, async () => {
      const result = await runJob(fixture('wordcount-subtask.mjs'), { parallelism, args: { input } });
      const out = result.collected.out as Counted[];
      assert.equal(out.length, totalWords, 'one output record per word occurrence');

      const finalCount = new Map<string, number>();
      const owner = new Map<string, number>();
      const seen = new Map<string, Set<number>>();
      for (const r of out) {
        finalCount.set(r.word, Math.max(finalCount.get(r.word) ?? 0, r.count));
        const o = owner.get(r.word);
        if (o === undefined) owner.set(r.word, r.subtask);
        else assert.equal(r.subtask, o, `word '${r.word}' was counted by subtasks ${o} and ${r.subtask}`);
        let s = seen.get(r.word);
        if (!s) seen.set(r.word, (s = new Set()));
        assert.ok(!s.has(r.count), `count ${r.count} of '${r.word}' emitted twice`);
        s.add(r.count);
      }
      assert.deepEqual(new Map([...finalCount].sort()), new Map([...expected].sort()));
      // Running counts 1..n per word, each exactly once: nothing lost, nothing repeated.
      for (const [w, n] of expected) assert.equal(seen.get(w)!.size, n, `running counts of '${w}'`);
      if (parallelism > 1) assert.equal(new Set(owner.values()).size, parallelism, 'every subtask owns some keys');

      const byUid = new Map(result.operators.map((o) => [o.uid, o]));
      assert.equal(byUid.get('split')!.recordsOut, totalWords);
      assert.equal(byUid.get('count')!.recordsIn, totalWords);
      assert.equal(byUid.get('out')!.recordsIn, totalWords);
    });
  }
});
