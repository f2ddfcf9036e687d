/**
 * Checkpoint storage: what is written durably reads back verified; any damage to a state file
 * or to `_metadata` is refused naming the file with expected and actual checksum; only a
 * checkpoint with metadata exists, also after the writing process is SIGKILLed mid-checkpoint.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, truncate, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CheckpointStorage, type CheckpointMetadata, type StateFileHandle } from '../../core/checkpoint/storage.js';
import { EddyError } from '../../core/failure.js';
import { repoRoot } from '../helpers/paths.js';

let root: string;
let n = 0;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'eddy-storage-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

function freshStorage(): CheckpointStorage {
  return new CheckpointStorage(join(root, `s${++n}`));
}

const bytes = (s: string) => new TextEncoder().encode(s);

function metadataFor(id: number, files: StateFileHandle[], kind: 'checkpoint' | 'savepoint' = 'checkpoint'): CheckpointMetadata {
  return {
    id,
    timestamp: 1_700_000_000_000 + id,
    durationMs: 12,
    kind,
    maxParallelism: 128,
    operators: [
      {
        uid: 'count',
        parallelism: files.length,
        subtasks: files.map((f, i) => ({
          subtask: i,
          keyed: { file: f, keyGroups: { start: i * 64, end: i * 64 + 63 }, index: [[i * 64, 0, f.bytes]] as [number, number, number][] },
        })),
      },
    ],
  };
}

async function complete(s: CheckpointStorage, id: number, kind: 'checkpoint' | 'savepoint' = 'checkpoint'): Promise<StateFileHandle> {
  const h = await s.writeStateFile(id, 'count-0-keyed.bin', bytes(`state of ${id}`));
  await s.commitMetadata(id, metadataFor(id, [h], kind));
  return h;
}

function corruptError(file: string, ...patterns: RegExp[]) {
  return (err: unknown) => {
    assert.ok(err instanceof EddyError, `expected an EddyError, got ${String(err)}`);
    assert.equal(err.code, 'CHECKPOINT_CORRUPT');
    assert.ok(err.message.includes(file), `message names ${file}: ${err.message}`);
    for (const p of patterns) assert.match(err.message, p);
    return true;
  };
}

describe('checkpoint storage', () => {
  it('round-trips state files and metadata', async () => {
    const s = freshStorage();
    const a = await s.writeStateFile(7, 'count-0-keyed.bin', bytes('hello'));
    const b = await s.writeStateFile(7, 'count-1-keyed.bin', new Uint8Array(0));
    assert.deepEqual(a, { file: 'chk-7/count-0-keyed.bin', bytes: 5, checksum: a.checksum });
    assert.match(a.checksum, /^crc32:[0-9a-f]{8}$/);
    const meta = metadataFor(7, [a, b]);
    await s.commitMetadata(7, meta);

    const latest = await s.latest();
    assert.deepEqual(latest, { id: 7, metadata: meta });
    assert.equal(new TextDecoder().decode(await s.readStateFile(latest!.metadata.operators[0].subtasks[0].keyed!.file)), 'hello');
    assert.equal((await s.readStateFile(b)).byteLength, 0);
    // No temporary files are left behind.
    assert.deepEqual((await readdir(s.checkpointDir(7))).sort(), ['_metadata', 'count-0-keyed.bin', 'count-1-keyed.bin']);
  });

  it('an empty or missing directory has no checkpoints', async () => {
    const s = freshStorage();
    assert.equal(await s.latest(), undefined);
    assert.deepEqual(await s.list(), []);
    await s.prune(3);
  });

  it('refuses a state file with a flipped byte', async () => {
    const s = freshStorage();
    const h = await s.writeStateFile(1, 'x.bin', bytes('abcdefgh'));
    const path = s.pathOf(h);
    const data = await readFile(path);
    data[3] ^= 0x01;
    await writeFile(path, data);
    await assert.rejects(
      s.readStateFile(h),
      corruptError(path, new RegExp(`expected 8 bytes with checksum ${h.checksum}`), /actual 8 bytes with checksum crc32:[0-9a-f]{8}/),
    );
  });

  it('refuses a truncated state file', async () => {
    const s = freshStorage();
    const h = await s.writeStateFile(1, 'x.bin', bytes('abcdefgh'));
    await truncate(s.pathOf(h), 5);
    await assert.rejects(s.readStateFile(h), corruptError(s.pathOf(h), /expected 8 bytes/, /actual 5 bytes with checksum crc32:/));
  });

  it('refuses a deleted state file, and will not commit metadata that references it', async () => {
    const s = freshStorage();
    const h = await s.writeStateFile(1, 'x.bin', bytes('abcdefgh'));
    await unlink(s.pathOf(h));
    await assert.rejects(s.readStateFile(h), corruptError(s.pathOf(h), /missing/, new RegExp(h.checksum)));
    await assert.rejects(s.commitMetadata(1, metadataFor(1, [h])), (err: unknown) => {
      assert.ok(err instanceof EddyError);
      assert.equal(err.code, 'CHECKPOINT_FAILED');
      assert.ok(err.message.includes(s.pathOf(h)));
      return true;
    });
    assert.equal(await s.latest(), undefined);
  });

  it('refuses a corrupted _metadata, naming it with expected and actual checksum', async () => {
    const s = freshStorage();
    await complete(s, 1);
    await complete(s, 2);
    const path = join(s.checkpointDir(2), '_metadata');
    const text = await readFile(path, 'utf8');
    // Still valid JSON, so only the checksum can tell.
    await writeFile(path, text.replace('"durationMs": 12', '"durationMs": 13'));
    const envelope = JSON.parse(text) as { checksum: string };
    await assert.rejects(s.latest(), corruptError(path, new RegExp(`expected ${envelope.checksum}, actual crc32:[0-9a-f]{8}`)));
    const listed = await s.list();
    assert.deepEqual(
      listed.map((e) => [e.id, e.status]),
      [
        [2, 'corrupt'],
        [1, 'complete'],
      ],
    );

    // Damaged beyond parsing: still reported, still named.
    await writeFile(path, text.slice(0, text.length / 2));
    await assert.rejects(s.latest(), corruptError(path, /not valid JSON/));
  });

  it('an uncommitted checkpoint directory is not latest()', async () => {
    const s = freshStorage();
    await complete(s, 1);
    await s.writeStateFile(2, 'count-0-keyed.bin', bytes('two'));
    await writeFile(join(s.checkpointDir(2), '_metadata.tmp'), '{"half":');
    assert.equal((await s.latest())?.id, 1);
    assert.deepEqual(
      (await s.list()).map((e) => e.id),
      [1],
    );
  });

  it('commits a checkpoint id once, and only with its own metadata', async () => {
    const s = freshStorage();
    const h = await complete(s, 1);
    await assert.rejects(s.commitMetadata(1, metadataFor(1, [h])), /already complete/);
    await assert.rejects(s.commitMetadata(2, metadataFor(3, [])), /cannot complete checkpoint 2/);
  });

  it('refuses handles that point outside the directory and reserved file names', async () => {
    const s = freshStorage();
    await assert.rejects(
      s.readStateFile({ file: '../../etc/passwd', bytes: 1, checksum: 'crc32:00000000' }),
      corruptError('../../etc/passwd'),
    );
    await assert.rejects(s.writeStateFile(1, '_metadata', bytes('x')), /invalid state file name/);
    await assert.rejects(s.writeStateFile(1, 'a/b', bytes('x')), /invalid state file name/);
  });

  it('prune keeps the newest 3 complete checkpoints, in-progress ones and savepoints', async () => {
    const s = freshStorage();
    for (const id of [1, 2, 3]) await complete(s, id);
    await complete(s, 4, 'savepoint');
    await s.writeStateFile(5, 'count-0-keyed.bin', bytes('abandoned')); // older than 6: subsumed
    for (const id of [6, 7]) await complete(s, id);
    await s.writeStateFile(8, 'count-0-keyed.bin', bytes('in progress'));

    await s.prune(3);
    const dirs = (await readdir(s.dir)).filter((n) => n.startsWith('chk-')).sort();
    assert.deepEqual(dirs, ['chk-3', 'chk-4', 'chk-6', 'chk-7', 'chk-8']);
    assert.deepEqual(
      (await s.list()).map((e) => e.id),
      [7, 6, 4, 3],
    );
    for (const e of await s.list()) {
      assert.equal(e.status, 'complete');
      if (e.status === 'complete') for (const st of e.metadata.operators[0].subtasks) await s.readStateFile(st.keyed!.file);
    }

    await complete(s, 9);
    await s.prune(3);
    assert.deepEqual((await readdir(s.dir)).filter((n) => n.startsWith('chk-')).sort(), ['chk-4', 'chk-6', 'chk-7', 'chk-9']);
  });

  it('discard removes a failed checkpoint', async () => {
    const s = freshStorage();
    await complete(s, 1);
    await s.writeStateFile(2, 'count-0-keyed.bin', bytes('declined'));
    await s.discard(2);
    await s.discard(3); // never existed: nothing to do
    assert.deepEqual((await readdir(s.dir)).sort(), ['_latest', 'chk-1']);
  });

  it('_latest names the newest completed checkpoint: its metadata going missing is refused, not skipped', async () => {
    const s = freshStorage();
    await complete(s, 1);
    await complete(s, 2);
    assert.equal(await s.recordedLatest(), 2);
    await rm(join(s.checkpointDir(2), '_metadata'));
    await assert.rejects(
      s.latest(),
      (err: EddyError) => err.code === 'CHECKPOINT_CORRUPT' && err.message.includes(join(s.checkpointDir(2), '_metadata')),
    );
    // An interrupted checkpoint (never recorded as complete) is simply not there yet.
    await s.writeStateFile(3, 'count-0-keyed.bin', bytes('in progress'));
    await complete(s, 4);
    assert.equal((await s.latest())?.id, 4);
  });

  it('a _latest left behind (a crash after the tasks were told, before it was written) is harmless: latest() is the newest complete', async () => {
    const s = freshStorage();
    await complete(s, 1);
    const h = await s.writeStateFile(2, 'count-0-keyed.bin', bytes('two'));
    // As the coordinator's host commits: _latest is written later, off the completion path.
    await s.commitMetadata(2, metadataFor(2, [h]), {}, false);
    assert.equal(await s.recordedLatest(), 1);
    const latest = await s.latest();
    assert.equal(latest?.id, 2);
    assert.equal(new TextDecoder().decode(await s.readStateFile(latest!.metadata.operators[0].subtasks[0].keyed!.file)), 'two');
    await s.recordLatest(2);
    assert.equal(await s.recordedLatest(), 2);
  });

  it('syncs every state file, then the checkpoint directory, before _metadata gets its name, then the directory again (strace)', async (t) => {
    // Tasks rename state files in without a directory fsync (it cost the slow task under
    // backpressure one fsync per file); the coordinator's one fsync of chk-N must come after
    // every state file's own fsync and rename and before the rename that creates _metadata.
    if (spawnSync('strace', ['-V']).error) return t.skip('strace is not installed (apt-get install strace)');
    const s = freshStorage();
    const script = join(repoRoot, 'test', 'fixtures', 'checkpoint', 'commit-order.mjs');
    const r = spawnSync('strace', ['-f', '-y', '-qq', '-e', 'trace=fsync,rename,renameat,renameat2', process.execPath, script, s.dir], {
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    const chk = s.checkpointDir(1);
    // A call another thread interrupts shows as `<unfinished ...>` (with its arguments) and later `resumed`.
    const lines = r.stderr.split('\n').filter((l) => l.includes(chk) && !l.includes('resumed>'));
    const index = (what: string, re: RegExp) => {
      const i = lines.findIndex((l) => re.test(l));
      assert.ok(i >= 0, `no ${what} in:\n${lines.join('\n')}`);
      return i;
    };
    const esc = (p: string) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const fileSync = (name: string) => index(`fsync of ${name}`, new RegExp(`fsync\\(\\d+<${esc(chk)}/\\.${esc(name)}\\.`));
    const renameTo = (name: string) => index(`rename to ${name}`, new RegExp(`rename.*"${esc(join(chk, name))}"`));
    // (A call another thread interrupts ends its line at the path: `<unfinished ...>`.)
    const dirSync = index('fsync of the checkpoint directory', new RegExp(`fsync\\(\\d+<${esc(chk)}>`));
    const metadata = renameTo('_metadata');
    for (const name of ['a-0-operator.bin', 'b-0-keyed.bin']) {
      assert.ok(fileSync(name) < renameTo(name), `${name} synced before its rename`);
      assert.ok(renameTo(name) < dirSync, `${name} renamed before the directory sync`);
    }
    assert.ok(dirSync < metadata, 'the directory is synced before _metadata is renamed in');
    const metadataBytes = index('fsync of _metadata.tmp', new RegExp(`fsync\\(\\d+<${esc(join(chk, '_metadata.tmp'))}>`));
    assert.ok(metadataBytes < metadata, "_metadata's bytes are synced before it gets its name");
    // _metadata's own name is made durable by a second sync of chk-N; chk-N's own entry (created
    // without a sync of its parent) is made durable before the caller may tell the tasks (it
    // may go early, see openCheckpoint); `_latest` comes after both.
    const all = r.stderr.split('\n').filter((l) => !l.includes('resumed>'));
    const at = (re: RegExp) => all.findIndex((l) => re.test(l));
    const metadataAll = at(new RegExp(`rename.*"${esc(join(chk, '_metadata'))}"`));
    const chkSyncAfter = all.findIndex((l, i) => i > metadataAll && new RegExp(`fsync\\(\\d+<${esc(chk)}>`).test(l));
    const rootSync = at(new RegExp(`fsync\\(\\d+<${esc(s.dir)}>`));
    const latest = at(new RegExp(`rename.*"${esc(join(s.dir, '_latest'))}"`));
    assert.ok(metadataAll >= 0 && chkSyncAfter > metadataAll, `the checkpoint's folder is synced after _metadata:\n${all.join('\n')}`);
    assert.ok(rootSync >= 0 && latest > rootSync && latest > chkSyncAfter, '_latest is renamed in after that');
  });

  it('after a SIGKILL between state files and metadata, latest() is the previous checkpoint', async () => {
    const s = freshStorage();
    const script = join(repoRoot, 'test', 'fixtures', 'checkpoint', 'crash-writer.mjs');
    const child = spawn(process.execPath, [script, s.dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    try {
      await new Promise<void>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (d) => {
          out += d;
          if (out.includes('ready\n')) resolve();
        });
        child.once('exit', (code, signal) => reject(new Error(`writer exited early (${code ?? signal}): ${stderr}`)));
      });
      const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
      child.kill('SIGKILL');
      assert.equal(await exited, 'SIGKILL');
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }

    // Checkpoint 2's files made it to disk, its metadata did not.
    assert.deepEqual((await readdir(s.checkpointDir(2))).sort(), ['count-0-op.bin', 'count-1-op.bin']);
    const latest = await s.latest();
    assert.equal(latest?.id, 1);
    const contents = [];
    for (const st of latest!.metadata.operators[0].subtasks) contents.push(new TextDecoder().decode(await s.readStateFile(st.operator!)));
    assert.deepEqual(contents, ['one-0', 'one-1']);

    // The next checkpoint after recovery subsumes the half-written one.
    await complete(s, 3);
    await s.prune(3);
    assert.deepEqual((await readdir(s.dir)).filter((n) => n.startsWith('chk-')).sort(), ['chk-1', 'chk-3']);
  });
});
