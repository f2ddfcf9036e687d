/**
 * Exactly-once with LMDB state far larger than its cache, so background write-backs (committed
 * on lmdb-js's thread), barrier write-backs and evictions interleave with checkpoints: user
 * functions that throw, workers that exit, and kill -9 of the whole process with
 * `--resume latest`, full and incremental checkpoints. The committed output must equal the
 * fault-free one, computed by a plain loop in test/helpers/validating-output.ts.
 *
 * `npm test`: 20,000 keys through a 1 MB cache: full checkpoints under a throwing function and
 * an exiting worker, incremental ones under kill -9. EDDY_SOAK=1: incremental under the throwing
 * function and exiting worker too (in `npm test` through checkpoint/exactly-once, five faults at
 * parallelism 3, and checkpoint/incremental), full under kill -9, and 2,000,000 keys (issue 18's
 * size) through 1 MB, and again through the default 256 MB, which holds every key: incremental
 * barriers then hold their changes in the cache and full snapshots are taken from it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runJob } from '../../core/index.js';
import { latestCheckpoint, runWithKills } from '../helpers/cli-faults.js';
import { fixture } from '../helpers/paths.js';
import { compareWithFaultFree, readCommitted } from '../helpers/validating-output.js';

const SOAK = process.env.EDDY_SOAK === '1';
const KEYS = SOAK ? 2_000_000 : 20_000;
/** Every key seen several times, so restored state is read back (from LMDB or the checkpoint). */
const COUNT = SOAK ? 6_000_000 : 150_000;
/** The kill -9 runs: one second of input at 100k records/s (SOAK: the full size). */
const KILL_COUNT = SOAK ? COUNT : 100_000;
for (const CACHE_MB of SOAK ? [1, 256] : [1])
  describe(`exactly-once with LMDB state of ${KEYS.toLocaleString('en-US')} keys through a ${CACHE_MB} MB cache`, () => {
    for (const incremental of [false, true]) {
      const kind = incremental ? 'incremental' : 'full';
      const skip =
        incremental && !SOAK ? 'EDDY_SOAK=1 (LMDB incremental under these faults: checkpoint/exactly-once, checkpoint/incremental)' : false;
      it(`${kind}: a throwing function and an exiting worker, restored from checkpoints`, { skip }, async () => {
        const dir = mkdtempSync(join(tmpdir(), 'eddy-lmdb-eo-'));
        try {
          const out = join(dir, 'out');
          const result = await runJob(fixture('validating.mjs'), {
            parallelism: 2,
            mode: 'exactly-once',
            checkpointIntervalMs: 100,
            incremental,
            stateBackend: 'lmdb',
            stateCacheMb: CACHE_MB,
            restart: 'fixed:5:10',
            checkpointDir: join(dir, 'chk'),
            localDir: dir,
            // Rate-limited so the faults land after checkpoints, mid-stream (1.5 s of input).
            args: {
              count: String(COUNT),
              keys: String(KEYS),
              rate: SOAK ? '' : '100000',
              output: out,
              faults: `map@${COUNT / 30},exit@${COUNT / 30}`,
            },
          });
          assert.equal(result.restarts, 2);
          assert.ok((result.stateRestores ?? []).length > 0, 'keyed state was restored');
          assert.deepEqual(compareWithFaultFree(readCommitted(out), COUNT, KEYS), { lost: 0, duplicated: 0, wrong: 0 });
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      });
    }

    for (const incremental of SOAK ? [false, true] : [true]) {
      const kind = incremental ? 'incremental' : 'full';
      it(`${kind}: kill -9 at random moments and --resume latest`, async () => {
        const dir = mkdtempSync(join(tmpdir(), 'eddy-lmdb-kill-'));
        try {
          const out = join(dir, 'out');
          const chk = join(dir, 'chk');
          const args = [
            'run',
            fixture('validating.mjs'),
            '--parallelism',
            '2',
            '--checkpoint-dir',
            chk,
            '--checkpoint-interval',
            '100',
            '--state',
            'lmdb',
            '--state-cache-mb',
            String(CACHE_MB),
            '--local-dir',
            dir,
            '--no-progress',
            ...(incremental ? ['--incremental'] : []),
            '--arg',
            `count=${KILL_COUNT}`,
            '--arg',
            `keys=${KEYS}`,
            '--arg',
            `rate=${SOAK ? 1_000_000 : 100_000}`,
            '--arg',
            `output=${out}`,
          ];
          const { killed, restored } = await runWithKills({ args, chk, seed: incremental ? 18 : 81, kills: SOAK ? 4 : 2 });
          assert.ok(killed >= 1, 'the process was killed');
          assert.ok(restored >= 1 || latestCheckpoint(chk) === 0, 'a killed run was resumed from its checkpoint');
          assert.deepEqual(compareWithFaultFree(readCommitted(out), KILL_COUNT, KEYS), { lost: 0, duplicated: 0, wrong: 0 });
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      });
    }
  });
