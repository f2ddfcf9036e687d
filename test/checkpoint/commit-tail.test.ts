/**
 * The completion path after the last ack: chk-N's own entry is made durable when the
 * checkpoint is opened (the coordinator's host does that as it arms or triggers it), so the
 * commit itself syncs only chk-N, around `_metadata`'s rename; and a checkpoint whose tasks
 * wrote no file still completes (its folder is the one openCheckpoint made).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CheckpointStorage } from '../../core/checkpoint/storage.js';
import { repoRoot } from '../helpers/paths.js';

let root: string;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'eddy-commit-tail-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

const esc = (p: string) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('checkpoint completion path', () => {
  it('syncs the folder holding chk-N once, when the checkpoint is opened, and not while committing it (strace)', async (t) => {
    if (spawnSync('strace', ['-V']).error) return t.skip('strace is not installed (apt-get install strace)');
    const dir = join(root, 'opened');
    const script = join(repoRoot, 'test', 'fixtures', 'checkpoint', 'commit-opened.mjs');
    const r = spawnSync(
      'strace',
      ['-f', '-y', '-qq', '-e', 'trace=fsync,rename,renameat,renameat2,openat', process.execPath, script, dir],
      {
        encoding: 'utf8',
      },
    );
    assert.equal(r.status, 0, r.stderr);
    const chk = join(dir, 'chk-1');
    const all = r.stderr.split('\n').filter((l) => !l.includes('resumed>'));
    const at = (what: string, re: RegExp) => {
      const i = all.findIndex((l) => re.test(l));
      assert.ok(i >= 0, `no ${what} in:\n${all.filter((l) => l.includes(dir)).join('\n')}`);
      return i;
    };
    const rootSyncs = all.filter((l) => new RegExp(`fsync\\(\\d+<${esc(dir)}>`).test(l));
    assert.equal(rootSyncs.length, 1, `one fsync of ${dir}:\n${rootSyncs.join('\n')}`);
    const rootSync = at('fsync of the folder holding chk-1', new RegExp(`fsync\\(\\d+<${esc(dir)}>`));
    const stateFile = at('the state file opened', new RegExp(`openat\\(.*"${esc(chk)}/\\.a-0-operator\\.bin\\.`));
    assert.ok(rootSync < stateFile, 'chk-1 is durable in its folder before the first state file is written');
    const metadata = at('rename to _metadata', new RegExp(`rename.*"${esc(join(chk, '_metadata'))}"`));
    const chkSyncs = all.map((l, i) => (new RegExp(`fsync\\(\\d+<${esc(chk)}>`).test(l) ? i : -1)).filter((i) => i >= 0);
    assert.ok(
      chkSyncs.some((i) => i < metadata) && chkSyncs.some((i) => i > metadata),
      `chk-1 synced before and after _metadata's rename: ${chkSyncs}`,
    );
  });

  it('completes a checkpoint whose tasks wrote no file, in the folder that opening it made', async () => {
    const s = new CheckpointStorage(join(root, 'empty'));
    void s.openCheckpoint(3);
    await s.commitMetadata(3, { id: 3, timestamp: 1, durationMs: 1, kind: 'checkpoint', maxParallelism: 128, operators: [] });
    assert.deepEqual(await readdir(s.checkpointDir(3)), ['_metadata']);
    assert.equal((await s.latest())?.id, 3);
  });

  it('refuses to complete, and leaves no temporary metadata, when a referenced file is missing', async () => {
    const s = new CheckpointStorage(join(root, 'missing'));
    await s.openCheckpoint(1);
    const file = { file: 'chk-1/gone.bin', bytes: 4, checksum: 'crc32:00000000' };
    await assert.rejects(
      s.commitMetadata(1, {
        id: 1,
        timestamp: 1,
        durationMs: 1,
        kind: 'checkpoint',
        maxParallelism: 128,
        operators: [{ uid: 'a', parallelism: 1, subtasks: [{ subtask: 0, operator: file }] }],
      }),
      /state file .*gone\.bin is missing/,
    );
    assert.deepEqual(await readdir(s.checkpointDir(1)), []);
    assert.equal(await s.latest(), undefined);
  });
});
