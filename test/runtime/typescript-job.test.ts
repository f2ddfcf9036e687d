// test-lane: pair
// The README's example: a TypeScript job module (loaded through tsx) counts the words of the
// example text; its committed output equals a count made here without the engine.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { runJob } from '../../core/index.js';
import { repoRoot } from '../helpers/paths.js';

it('examples/wordcount.ts runs and its committed output equals an independent count', async () => {
  const input = join(repoRoot, 'examples', 'data', 'words.txt');
  const dir = mkdtempSync(join(tmpdir(), 'eddy-ts-'));
  try {
    const result = await runJob(join(repoRoot, 'examples', 'wordcount.ts'), { parallelism: 2, args: { input, output: dir } });
    const expected = new Map<string, number>();
    for (const w of readFileSync(input, 'utf8').toLowerCase().split(/\W+/)) if (w) expected.set(w, (expected.get(w) ?? 0) + 1);
    const final = new Map<string, number>();
    let lines = 0;
    for (const f of readdirSync(dir)) {
      assert.ok(!f.startsWith('.'), `no hidden (uncommitted) file is left: ${f}`);
      for (const l of readFileSync(join(dir, f), 'utf8').split('\n')) {
        if (!l) continue;
        lines++;
        const { word, count } = JSON.parse(l) as { word: string; count: number };
        final.set(word, Math.max(final.get(word) ?? 0, count));
      }
    }
    assert.equal(
      lines,
      [...expected.values()].reduce((a, b) => a + b, 0),
    );
    assert.deepEqual(new Map([...final].sort()), new Map([...expected].sort()));
    assert.equal(result.restarts, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
