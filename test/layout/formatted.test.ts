// Every TypeScript and JavaScript source is formatted by prettier (.prettierrc.json: 140
// columns, single quotes, trailing commas), so a diff shows what changed and not how someone
// wrapped a line. When this fails, run `npm run format` and commit the result.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../helpers/paths.js';

describe('formatting', () => {
  it('every source is as prettier formats it (npm run format)', () => {
    const r = spawnSync(process.execPath, [join(repoRoot, 'node_modules', 'prettier', 'bin', 'prettier.cjs'), '--check', '.'], {
      cwd: repoRoot,
      encoding: 'utf8',
    });
    const unformatted = `${r.stdout}${r.stderr}`
      .split('\n')
      .filter((l) => l.startsWith('[warn] ') && !l.includes('Code style issues'))
      .map((l) => l.slice('[warn] '.length));
    assert.equal(r.status, 0, `not formatted (run npm run format): ${unformatted.join(', ') || r.stderr}`);
  });
});
