// A task acknowledges a checkpoint while its state files are still being written on its writer
// thread, and the writer tells the coordinator itself when each is durable (one hop less on a
// busy core than the writer's reply going round the task first). The checkpoint must still
// complete only once every file it names is durable. A real coordinator, storage and writer
// thread in a child process (test/fixtures/checkpoint/ack-before-durable.mjs), SIGKILLed:
//   - acknowledged, file written, but the writer's notice not taken: no `_metadata` for it, and
//     the restore picks the checkpoint before, whose file reads back with its checksum;
//   - notice taken: the checkpoint is complete, and its file reads back with the checksum the
//     writer sent (the ack carried only a placeholder).
// Fails if the coordinator completed on the ack alone.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CheckpointStorage } from '../../core/checkpoint/storage.js';
import { PENDING_CHECKSUM } from '../../core/checkpoint/metadata.js';
import { repoRoot } from '../helpers/paths.js';

const SCRIPT = join(repoRoot, 'test', 'fixtures', 'checkpoint', 'ack-before-durable.mjs');

/** Runs the fixture until it prints `line`, then SIGKILLs it; returns how it ended. */
async function killAfter(dir: string, mode: 'held' | 'forwarded', line: string): Promise<{ signal: string | null; out: string }> {
  const child = spawn(process.execPath, [SCRIPT, dir, mode], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const ended = new Promise<string | null>((resolve) => child.once('exit', (code, signal) => resolve(signal ?? `exit ${code}`)));
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d) => {
        out += d;
        if (out.split('\n').includes(line)) resolve();
      });
      void ended.then((how) => reject(new Error(`the child ended (${how}) before '${line}': ${out}${err}`)));
    });
    child.kill('SIGKILL');
    return { signal: await ended, out };
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

describe('a checkpoint acknowledged before its files are durable', () => {
  it('is not complete until the writer says so: killed before that, the restore picks the one before', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'eddy-durable-held-'));
    try {
      const { signal, out } = await killAfter(dir, 'held', 'written 2');
      assert.equal(signal, 'SIGKILL', out);
      assert.ok(!out.includes('complete 2'), out);
      // The file is all there, but nothing told the coordinator it is durable: no metadata.
      assert.ok(readdirSync(join(dir, 'chk-2')).includes('op-0.bin'));
      assert.ok(!existsSync(join(dir, 'chk-2', '_metadata')));
      const s = new CheckpointStorage(dir);
      const latest = await s.latest();
      assert.equal(latest?.id, 1);
      const h = latest!.metadata.operators[0].subtasks[0].operator!;
      assert.notEqual(h.checksum, PENDING_CHECKSUM);
      assert.ok(Buffer.from(await s.readStateFile(h)).equals(Buffer.alloc(1 << 20, 1)));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("completes once the writer's notice is taken, with the writer's checksum in its metadata", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'eddy-durable-fwd-'));
    try {
      const { signal, out } = await killAfter(dir, 'forwarded', 'complete 2');
      assert.equal(signal, 'SIGKILL', out);
      const s = new CheckpointStorage(dir);
      const latest = await s.latest();
      assert.equal(latest?.id, 2);
      const h = latest!.metadata.operators[0].subtasks[0].operator!;
      assert.match(h.checksum, /^crc32:[0-9a-f]{8}$/);
      assert.ok(Buffer.from(await s.readStateFile(h)).equals(Buffer.alloc(1 << 20, 2)));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
