// test-lane: alone
// Every TypeScript and JavaScript source is formatted by prettier (.prettierrc.json: 140
// columns, single quotes, trailing commas), so a diff shows what changed and not how someone
// wrapped a line. When this fails, run `npm run format` and commit the result.
//
// `prettier --check .` runs on one core while the test runner (one file at a time) leaves the
// other idle, so the sources are checked in two prettier processes at once, of about the same
// CPU time: core/ and workers/, and everything else (`.` without them). Together they check
// exactly the files `prettier --check .` does.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../helpers/paths.js';

const PARTS = [
  ['core', 'workers'],
  ['.', '!core/**', '!workers/**'],
];

function check(patterns: string[]): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(repoRoot, 'node_modules', 'prettier', 'bin', 'prettier.cjs'), '--check', ...patterns], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (output += d));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, output }));
  });
}

describe('formatting', () => {
  it('every source is as prettier formats it (npm run format)', async () => {
    const runs = await Promise.all(PARTS.map(check));
    const unformatted = runs
      .flatMap((r) => r.output.split('\n'))
      .filter((l) => l.startsWith('[warn] ') && !l.includes('Code style issues'))
      .map((l) => l.slice('[warn] '.length));
    for (const [k, r] of runs.entries())
      assert.equal(
        r.status,
        0,
        `not formatted (run npm run format): ${unformatted.join(', ') || `prettier --check ${PARTS[k].join(' ')}: ${r.output}`}`,
      );
  });
});
