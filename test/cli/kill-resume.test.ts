// kill -9 of the whole eddy process at random moments, then `eddy run --resume latest` until
// the job finishes: the committed output equals the fault-free run (lost 0, duplicated 0).
// Kills land anywhere: before the first checkpoint, mid-checkpoint, mid-commit. `npm test` runs
// one seed (kill -9 and --resume latest recur in the connector, LMDB and unaligned-rescale
// tests); EDDY_SOAK=1 runs six seeds and more kills.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { cliPath, fixture } from '../helpers/paths.js';
import { compareWithFaultFree, readCommitted } from '../helpers/validating-output.js';
import { prng } from '../helpers/prng.js';
import { runCli, jobArgs } from '../helpers/cli-run.js';
import { latestCheckpoint, newCheckpoint } from '../helpers/cli-faults.js';

const COUNT = 300_000;
const KEYS = 120;
const SOAK = process.env.EDDY_SOAK === '1';
const SEEDS = SOAK ? [3, 5, 8, 13, 21, 34] : [3];
const KILLS = SOAK ? 6 : 3;

describe('kill -9 and --resume latest', () => {
  for (const seed of SEEDS) {
    it(`seed ${seed}: ${KILLS} kills at random moments, committed output equals the fault-free run`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'eddy-kill-'));
      const r = prng(seed);
      const out = join(dir, 'out');
      const base = [
        'run',
        fixture('validating.mjs'),
        '--parallelism',
        '2',
        '--checkpoint-dir',
        join(dir, 'chk'),
        '--checkpoint-interval',
        '100',
        '--no-progress',
        ...jobArgs({ count: COUNT, keys: KEYS, rate: '150000', output: out }),
      ];
      try {
        let killed = 0;
        let restored = 0;
        for (let run = 0; ; run++) {
          const args = run === 0 ? base : [...base, '--resume', 'latest'];
          // Startup takes ~0.4 s and the input ~2 s: kills fall anywhere from startup to the end.
          // The last kill waits for a checkpoint of its own run, so at least one resume restores
          // one however slow a loaded machine starts the job.
          const chk = join(dir, 'chk');
          const armed =
            killed === KILLS - 1
              ? (
                  (after: number) => () =>
                    newCheckpoint(chk, after)
                )(latestCheckpoint(chk))
              : undefined;
          const exit = await runCli(
            args,
            killed < KILLS ? (armed ? Math.floor(r() * 300) : 200 + Math.floor(r() * 1800)) : undefined,
            armed,
          );
          if (exit.stderr.includes('eddy: restored checkpoint')) restored++;
          if (exit.signal === 'SIGKILL') {
            if (killed++ === 0 && existsSync(join(dir, 'chk', '_control.json'))) {
              // The killed job's control file is stale: the commands say so instead of hanging.
              const sp = spawnSync(process.execPath, [cliPath, 'savepoint', join(dir, 'chk')], { encoding: 'utf8', timeout: 30_000 });
              assert.equal(sp.status, 1);
              assert.match(
                sp.stderr,
                /\[JOB_NOT_RUNNING\] the job that wrote .*_control\.json \(pid \d+\) is no longer running; resume it with/,
              );
            }
            continue;
          }
          assert.equal(exit.code, 0, `run ${run} failed: ${exit.stderr}`);
          // A process that finished before its kill counts as a kill that missed.
          if (killed < KILLS) killed = KILLS;
          break;
        }
        assert.ok(restored >= 1, 'at least one run resumed from a checkpoint of a killed one');
        assert.deepEqual(compareWithFaultFree(readCommitted(out), COUNT, KEYS), { lost: 0, duplicated: 0, wrong: 0 });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
