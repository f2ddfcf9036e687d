// A user function that throws and a worker that exits both fail the job with an EddyError that
// names the operator and the subtask; an unbounded job stops cleanly when its signal aborts.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { EddyError, runJob } from '../../core/index.js';
import { keyGroupFor, subtaskForKeyGroup } from '../../core/state/key-groups.js';
import { fixture } from '../helpers/paths.js';

/** The subtask that the failing record (value 100, key 100 % 7) is routed to. */
function subtaskOf(value: number, parallelism: number): number {
  return subtaskForKeyGroup(keyGroupFor(value % 7, 128), 128, parallelism);
}

describe('failures', () => {
  it('a throwing user function fails the job with its uid, subtask and cause', async () => {
    await assert.rejects(runJob(fixture('failing.mjs'), { parallelism: 2, args: { fail: 'throw', at: '100' } }), (err: unknown) => {
      assert.ok(err instanceof EddyError);
      assert.equal(err.code, 'USER_FUNCTION_FAILED');
      assert.equal(err.operatorUid, 'explode');
      assert.equal(err.subtask, subtaskOf(100, 2));
      assert.match(err.message, /explode/);
      assert.match(err.message, /boom at 100/);
      return true;
    });
  });

  it('a worker that calls process.exit fails the job with WORKER_EXITED', async () => {
    await assert.rejects(runJob(fixture('failing.mjs'), { parallelism: 2, args: { fail: 'exit', at: '100' } }), (err: unknown) => {
      assert.ok(err instanceof EddyError);
      assert.equal(err.code, 'WORKER_EXITED');
      assert.equal(err.subtask, subtaskOf(100, 2));
      assert.match(err.operatorUid ?? '', /explode/);
      assert.match(err.message, /exited with code: 3/);
      return true;
    });
  });

  it('an unbounded job runs until its AbortSignal and then stops cleanly', async () => {
    const ac = new AbortController();
    let seen = 0;
    const run = runJob(
      fixture('unbounded.mjs'),
      {
        parallelism: 2,
        progressIntervalMs: 50,
        onProgress: (p) => {
          seen = p.operators.find((o) => o.uid === 'count')!.recordsIn;
          if (seen > 50_000) ac.abort();
        },
      },
      { signal: ac.signal },
    );
    const result = await run;
    assert.equal(result.cancelled, true);
    const count = result.operators.find((o) => o.uid === 'count')!;
    assert.ok(count.recordsIn > 50_000, `processed ${count.recordsIn} records before the stop`);
  });
});

/**
 * Runs failing.mjs (the map throws at record 400 in every attempt) at exactly-once without a
 * checkpoint directory; resolves with the job's error, its own temporary checkpoint folder and
 * its warnings.
 */
async function failWithOwnDir(
  checkpointIntervalMs: number,
  restart: string,
): Promise<{ err: unknown; dir: string | undefined; warnings: string[] }> {
  let dir: string | undefined;
  const warnings: string[] = [];
  const run = runJob(fixture('failing.mjs'), {
    parallelism: 1,
    mode: 'exactly-once',
    checkpointIntervalMs,
    restart,
    // Paced: record 400 comes about 200 ms after the source starts, so checkpoints at a 50 ms
    // interval complete before it whatever the workers' start-up time (unpaced, the failure
    // could come before the first barrier).
    args: { fail: 'throw', at: '400', rate: '2000' },
    onStart: (s) => (dir = s.checkpointDir),
    onWarning: (m) => warnings.push(m),
  });
  const err = await run.then(
    () => assert.fail('the job fails'),
    (e: unknown) => e,
  );
  return { err, dir, warnings };
}

describe('restart strategies at work', () => {
  it('fixed:2:10 restarts twice, then ends the job with the last cause and the reason; its checkpoints stay for a resume', async () => {
    // No --checkpoint-dir: the job's own temporary folder keeps its checkpoints, and says where.
    const { err, dir, warnings } = await failWithOwnDir(50, 'fixed:2:10');
    try {
      assert.ok(err instanceof EddyError);
      assert.equal(err.code, 'USER_FUNCTION_FAILED');
      assert.match(err.message, /boom at 400/);
      assert.match(err.message, /fixed:2:10 exhausted after 2 restarts/);
      assert.ok(dir !== undefined && dir.startsWith(join(tmpdir(), 'eddy-checkpoints-')), `a temporary folder: ${dir}`);
      assert.ok(
        readdirSync(dir).some((f) => /^chk-\d+$/.test(f)),
        'it holds the checkpoints',
      );
      assert.ok(
        warnings.some((w) => w.includes(`--checkpoint-dir ${dir} --resume latest`)),
        warnings.join('\n'),
      );
    } finally {
      if (dir) rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a job that fails before its first checkpoint removes its temporary checkpoint folder (nothing to resume from)', async () => {
    const { err, dir, warnings } = await failWithOwnDir(600_000, 'none');
    assert.ok(err instanceof EddyError && err.code === 'USER_FUNCTION_FAILED', String(err));
    assert.ok(dir !== undefined, 'the job had a checkpoint folder');
    assert.equal(existsSync(dir), false, `${dir} is gone`);
    assert.deepEqual(
      warnings.filter((w) => w.includes('retained')),
      [],
    );
  });

  it('a run refused before it starts (a bad restart strategy) leaves no temporary folder', async () => {
    // The run's temporary folders go under TMPDIR; a folder of this test's own shows what is left.
    const tmp = mkdtempSync(join(tmpdir(), 'eddy-refused-run-'));
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = tmp;
    try {
      await assert.rejects(
        runJob(fixture('failing.mjs'), {
          checkpointIntervalMs: 100,
          stateBackend: 'lmdb',
          restart: 'bogus',
          args: { fail: 'throw', at: '100' },
        }),
        (err: unknown) => {
          assert.ok(err instanceof EddyError && err.code === 'BAD_FLAG', String(err));
          assert.match(err.message, /--restart/);
          return true;
        },
      );
      assert.deepEqual(readdirSync(tmp), []);
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
