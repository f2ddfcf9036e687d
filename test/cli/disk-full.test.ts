// Checkpoint storage that cannot write (a file-size limit, `ulimit -f`, makes every write past
// it fail with EFBIG, as a full disk fails with ENOSPC): the checkpoint is declined and
// counted, the job keeps running without a restart, later checkpoints succeed, the earlier
// ones stay intact, and the committed output is exactly the fault-free one.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { inspectCheckpoints } from '../../core/checkpoint/inspect.js';
import { cliPath, fixture } from '../helpers/paths.js';
import { compareWithFaultFree, readCommitted } from '../helpers/validating-output.js';

const COUNT = 150_000;
const KEYS = 60;
/** The limit, in KiB (bash's unit for ulimit -f): part files and normal state stay far below. */
const LIMIT_KIB = 4096;

function runLimited(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const quoted = [process.execPath, cliPath, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    const child = spawn('bash', ['-c', `ulimit -f ${LIMIT_KIB} && exec ${quoted}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stderr }));
  });
}

describe('checkpoint storage that fails to write', () => {
  it('declines that checkpoint, keeps the job running, and later checkpoints succeed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'eddy-diskfull-'));
    const chk = join(dir, 'chk');
    const out = join(dir, 'out');
    try {
      const { code, stderr } = await runLimited([
        'run',
        fixture('ballast.mjs'),
        '--parallelism',
        '2',
        '--checkpoint-dir',
        chk,
        '--checkpoint-interval',
        '150',
        '--retained-checkpoints',
        '1000',
        '--restart',
        'none',
        '--no-progress',
        '--arg',
        `count=${COUNT}`,
        '--arg',
        `keys=${KEYS}`,
        '--arg',
        'rate=100000',
        '--arg',
        'bigAt=2',
        '--arg',
        `ballast=${8 * 1024 * 1024}`,
        '--arg',
        `output=${out}`,
      ]);
      assert.equal(code, 0, stderr);
      // The user is told which checkpoint failed and why.
      assert.match(stderr, /warning: checkpoint 2 failed: .*(EFBIG|file too large)/i);
      assert.match(stderr, /checkpoints failed: 1\b/);
      assert.match(stderr, /restarts: 0/);

      const list = await inspectCheckpoints(chk);
      const checkpoints = list.filter((s) => s.kind === 'checkpoint');
      assert.ok(!existsSync(join(chk, 'chk-2')), 'the failed checkpoint left nothing behind');
      assert.deepEqual(
        checkpoints.filter((s) => s.status !== 'intact'),
        [],
        'every remaining checkpoint is intact',
      );
      const ids = checkpoints.map((s) => s.id!);
      assert.ok(ids.includes(1), 'the checkpoint before the failure is still there');
      assert.ok(
        ids.some((id) => id > 2),
        'a later checkpoint succeeded',
      );

      assert.deepEqual(compareWithFaultFree(readCommitted(out), COUNT, KEYS), { lost: 0, duplicated: 0, wrong: 0 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
