// test-lane: pair
/**
 * The LMDB backend at its limits: state far larger than the cache budget runs correctly (every
 * key's final count checked; peak RSS printed), and a disk that fills up fails the task with
 * STATE_FAILED naming the operator and subtask instead of crashing the process. The disk-full
 * case mounts a real 4 MB tmpfs, so it needs root; without root it is skipped and says so.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { EddyError, runJob } from '../../core/index.js';
import { fixture } from '../helpers/paths.js';

// A million keys through 2 MB are further past the budget (keys per MB of cache) than the three
// million through 8 MB; EDDY_SOAK=1 runs six million through 8 MB.
const SOAK = process.env.EDDY_SOAK === '1';
const KEYS = SOAK ? 6_000_000 : 1_000_000;
const CACHE_MB = SOAK ? 8 : 2;

describe('LMDB state at its limits', () => {
  it(`${KEYS} keys through a ${CACHE_MB} MB cache: every key's count is right`, async () => {
    const rounds = 2;
    const result = await runJob(fixture('keyed-count.mjs'), {
      parallelism: 1,
      stateBackend: 'lmdb',
      stateCacheMb: CACHE_MB,
      args: { count: String(KEYS * rounds), keys: String(KEYS) },
    });
    const out = result.collected.sink as number[];
    assert.equal(out.length, KEYS);
    const seen = new Uint8Array(KEYS);
    for (const x of out) {
      const key = Math.floor(x / 1024);
      assert.equal(x % 1024, rounds, `count of key ${key}`);
      assert.equal(seen[key], 0, `key ${key} twice`);
      seen[key] = 1;
    }
    // Whole process (all worker threads), including LMDB pages mapped and touched.
    console.log(`# ${KEYS} keys, cache ${CACHE_MB} MB: peak RSS ${Math.round(process.resourceUsage().maxRSS / 1024)} MB`);
  });

  it('a full disk fails the task with STATE_FAILED, naming operator and subtask', async (t) => {
    const mnt = mkdtempSync(join(tmpdir(), 'eddy-tinyfs-'));
    try {
      try {
        execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mnt], { stdio: 'ignore' });
      } catch {
        t.skip('cannot mount a tmpfs here (needs root)');
        return;
      }
      try {
        await assert.rejects(
          runJob(fixture('keyed-count.mjs'), {
            parallelism: 1,
            stateBackend: 'lmdb',
            stateCacheMb: 1,
            localDir: mnt,
            restart: 'none',
            args: { count: '400000', keys: '400000', sink: 'discard' },
          }),
          (err: unknown) => {
            assert.ok(err instanceof EddyError, String(err));
            assert.equal(err.code, 'STATE_FAILED', err.message);
            assert.equal(err.operatorUid, 'count');
            assert.equal(err.subtask, 0);
            assert.match(err.message, /LMDB state of operator 'count' subtask 0/);
            return true;
          },
        );
      } finally {
        execFileSync('umount', [mnt]);
      }
    } finally {
      rmSync(mnt, { recursive: true, force: true });
    }
  });
});
