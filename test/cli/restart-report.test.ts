// test-lane: pair
/**
 * A failure that ends an attempt is printed when it happens (issue 12): with --restart
 * fixed:N, a map that throws on one record gives N + 1 lines `attempt K failed: [CODE]
 * operator 'uid' subtask S: … cause`, the later ones marked as the same failure as the earlier
 * attempts, then the final error line.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { cliPath, fixture, repoRoot } from '../helpers/paths.js';

describe('restarts are reported as they happen', () => {
  it('fixed:3 → 4 attempt lines with code, uid, subtask, cause, then the final error', () => {
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('EDDY_')) env[k] = v;
    const r = spawnSync(
      process.execPath,
      [cliPath, 'run', fixture('failing.mjs'), '--arg', 'fail=throw', '--arg', 'at=100', '--restart', 'fixed:3:10', '--no-progress'],
      { cwd: repoRoot, env, encoding: 'utf8', timeout: 60_000 },
    );
    assert.equal(r.status, 1, r.stderr);
    const attempts = r.stderr.split('\n').filter((l) => l.startsWith('eddy: attempt '));
    assert.equal(attempts.length, 4, r.stderr);
    attempts.forEach((l, i) => {
      assert.match(l, new RegExp(`^eddy: attempt ${i + 1} failed: \\[USER_FUNCTION_FAILED\\] operator 'explode' subtask 0: .*boom at 100`));
      if (i === 1) assert.match(l, /same failure as attempt 1\)/);
      if (i >= 2) assert.match(l, new RegExp(`same failure as attempts 1–${i}\\)`));
      assert.match(l, i < 3 ? /restarting in 10 ms/ : /not restarting/);
    });
    const final = r.stderr.split('\n').filter((l) => l.startsWith('eddy: ['));
    assert.equal(final.length, 1, r.stderr);
    assert.match(final[0]!, /^eddy: \[USER_FUNCTION_FAILED\] .*boom at 100 .*exhausted after 3 restarts/);
  });
});
