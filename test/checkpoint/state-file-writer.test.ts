// The state-file writer thread (core/checkpoint/state-file-writer.ts): a task's state files in
// unaligned runs are written there, off the task's event loop.
//   - a file written through it reads back with its checksum, and the caller's buffer moved
//     to the thread (detached here), not copied;
//   - a write it cannot make (the checkpoint's folder name taken by a plain file, which stops
//     root as well as any user, unlike a read-only folder) rejects with one line naming the
//     file, and the next write succeeds once the cause is gone;
//   - two files handed over together are written on two writer threads at once (their
//     fsyncs share a journal commit instead of queueing), a third on the one with fewest;
//   - its reply reaches a task whose event loop never comes round: the write settles between
//     two frames, by polling the reply doorbell (pollHelperReplies), with no macrotask run;
//   - its one-time costs (the thread's start, its first mkdir, write, fsync and rename) are
//     paid when a task deploys (CheckpointStorage.ready), not by the first checkpoint: under
//     strace a warm-up file is synced and renamed before ready() resolves, in the system's
//     temporary folder (never the checkpoint directory), and it is gone afterwards;
//   - in a job under backpressure, checkpoints whose folder cannot be created are declined as
//     data (`snapshot-write-failed`, the operator and subtask), the job goes on without a
//     restart, the next checkpoints complete with in-flight data, and the committed output is
//     exact.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { crc32 } from 'node:zlib';
import { runJob } from '../../core/index.js';
import { EddyError } from '../../core/failure.js';
import { CheckpointStorage } from '../../core/checkpoint/storage.js';
import { pollHelperReplies } from '../../core/helper-thread.js';
import { fixture, repoRoot } from '../helpers/paths.js';
import { compareWithFaultFree, readCommitted } from '../helpers/validating-output.js';

const crcOf = (b: Uint8Array) => `crc32:${(crc32(b) >>> 0).toString(16).padStart(8, '0')}`;

describe('state-file writer thread', () => {
  it('pays its first write at deployment: a warm-up file is synced and renamed before ready() resolves, outside the checkpoint directory, and removed (strace)', (t) => {
    if (spawnSync('strace', ['-V']).error) return t.skip('strace is not installed (apt-get install strace)');
    const dir = mkdtempSync(join(tmpdir(), 'eddy-warm-chk-'));
    const tmp = mkdtempSync(join(tmpdir(), 'eddy-warm-tmp-'));
    try {
      const script = join(repoRoot, 'test', 'fixtures', 'checkpoint', 'writer-warm-up.mjs');
      const r = spawnSync(
        'strace',
        ['-f', '-y', '-qq', '-e', 'trace=fsync,rename,renameat,renameat2,write', process.execPath, script, dir],
        {
          encoding: 'utf8',
          env: { ...process.env, TMPDIR: tmp },
        },
      );
      assert.equal(r.status, 0, r.stderr);
      const lines = r.stderr.split('\n').filter((l) => !l.includes('resumed>'));
      const at = (what: string, test: (l: string) => boolean) => {
        const i = lines.findIndex(test);
        assert.ok(i >= 0, `no ${what} in:\n${lines.join('\n')}`);
        return i;
      };
      const ready = at('READY', (l) => /write\(1<[^>]*>, "READY/.test(l));
      const warmSync = at('fsync of the warm-up file', (l) => l.includes('fsync(') && l.includes(`${tmp}/.eddy-writer-warm-up-`));
      const warmRename = at('rename of the warm-up file', (l) => /rename/.test(l) && l.includes(`${tmp}/.eddy-writer-warm-up-`));
      const firstSync = at('fsync of the first state file', (l) => l.includes('fsync(') && l.includes(join(dir, 'chk-1')));
      assert.ok(warmSync < ready && warmRename < ready, 'the warm-up write came before ready() resolved');
      assert.ok(ready < firstSync, 'the state file was written after');
      assert.deepEqual(readdirSync(tmp), [], 'the warm-up file is removed');
      assert.deepEqual(readdirSync(dir), ['chk-1'], 'nothing but the checkpoint in the checkpoint directory');
    } finally {
      rmSync(dir, { recursive: true, force: true });
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('writes a file durably off the loop, taking the buffer without a copy; a failed write is one line and the next one succeeds', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'eddy-writer-'));
    try {
      const s = new CheckpointStorage(dir, { writerThread: true });
      const data = new Uint8Array(1 << 20).map((_, i) => (i * 31) & 0xff);
      const expected = crcOf(data);
      const h = await s.writeStateFile(1, 'op-0-channels.bin', data, { transfer: true });
      assert.equal(data.byteLength, 0, 'the buffer was transferred to the writer thread');
      assert.deepEqual(h, { file: 'chk-1/op-0-channels.bin', bytes: 1 << 20, checksum: expected });
      const back = await s.readStateFile(h);
      assert.equal(crcOf(back), expected);

      // In parts (in-flight data: its structure, then input payloads as they are): the file is their bytes joined.
      const header = new Uint8Array(300).fill(3);
      const parts = [
        header.subarray(0, 100),
        new Uint8Array(70_000).fill(5),
        header.subarray(100),
        new Uint8Array(0),
        new Uint8Array(9).fill(6),
      ];
      const joined = Buffer.concat(parts);
      const hp = await s.writeStateFile(1, 'op-1-channels.bin', parts, { transfer: true });
      assert.deepEqual(hp, { file: 'chk-1/op-1-channels.bin', bytes: joined.length, checksum: crcOf(joined) });
      assert.ok(Buffer.from(await s.readStateFile(hp)).equals(joined));
      assert.equal(header.byteLength, 0, "the parts' buffers moved to the writer thread");

      writeFileSync(join(dir, 'chk-2'), 'in the way');
      const err = await s.writeStateFile(2, 'op-0-operator.bin', new Uint8Array([1, 2, 3]), { transfer: true }).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(err instanceof EddyError, `an EddyError: ${String(err)}`);
      assert.equal(err.code, 'CHECKPOINT_FAILED');
      assert.match(
        err.message,
        new RegExp(
          `^writing state file ${join(dir, 'chk-2', 'op-0-operator.bin').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} of checkpoint 2 failed: E[A-Z]+: `,
        ),
      );
      assert.ok(!err.message.includes('\n'), err.message);

      rmSync(join(dir, 'chk-2'));
      const again = await s.writeStateFile(2, 'op-0-operator.bin', new Uint8Array([1, 2, 3]), { transfer: true });
      assert.deepEqual([...(await s.readStateFile(again))], [1, 2, 3]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('files handed over together go to writer threads with no write in them: two at once on two threads, a third to the one with fewest', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'eddy-writer-lanes-'));
    try {
      const s = new CheckpointStorage(dir, { writerThread: true });
      await s.ready();
      // A task's state file and its in-flight data, handed over before either is answered.
      const timings = [{}, {}, {}] as { thread?: number; tookAt?: number; syncedAt?: number }[];
      const handles = await Promise.all(
        timings.map((timing, i) =>
          s.writeStateFile(1, `op-${i}-keyed.bin`, new Uint8Array(32 << 10).fill(i + 1), { transfer: true, timing }),
        ),
      );
      const [a, b, c] = timings.map((t) => t.thread);
      assert.ok(a !== undefined && b !== undefined && a !== b, `two writer threads: ${a}, ${b}`);
      assert.equal(c, a, 'the third waited on the first thread (both had one write in them)');
      for (const [i, h] of handles.entries()) assert.deepEqual([...new Set(await s.readStateFile(h))], [i + 1]);
      for (const t of timings) assert.ok(t.tookAt! <= t.syncedAt!, JSON.stringify(t));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a reply reaches a busy task by the doorbell, without a turn of its event loop', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'eddy-writer-poll-'));
    try {
      const s = new CheckpointStorage(dir, { writerThread: true });
      // The thread is up (its start needs the event loop) before the loop is held.
      await s.writeStateFile(1, 'warm.bin', new Uint8Array(8), { transfer: true });
      let turned = false;
      setImmediate(() => (turned = true));
      let handle: unknown;
      void s.writeStateFile(2, 'op-0-channels.bin', new Uint8Array(64 << 10).fill(7), { transfer: true }).then((h) => (handle = h));
      // A task busy with records: synchronous work, polling between "frames", never yielding.
      const until = performance.now() + 10_000;
      let polled = false;
      while (!polled && performance.now() < until) polled = pollHelperReplies();
      assert.ok(polled, 'the reply was rung on the doorbell within 10 s');
      // Microtasks only (what the record loop's own awaits give): the write's continuations run.
      for (let i = 0; i < 50 && handle === undefined; i++) await null;
      assert.equal(turned, false, 'no macrotask ran: the event loop did not come round');
      assert.deepEqual(handle, { file: 'chk-2/op-0-channels.bin', bytes: 64 << 10, checksum: crcOf(new Uint8Array(64 << 10).fill(7)) });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a checkpoint whose files cannot be written is declined as data; the job goes on and later checkpoints complete', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'eddy-writer-job-'));
    const COUNT = 40_000;
    const KEYS = 50;
    try {
      const chk = join(dir, 'chk');
      mkdirSync(chk);
      // Checkpoints 3 and 4 cannot create their folders: every task's write fails there.
      // Declining discards the failed checkpoint (its folder, here the plain file), so the
      // cause is gone for checkpoint 5.
      for (const id of [3, 4]) writeFileSync(join(chk, `chk-${id}`), 'in the way');
      const warnings: string[] = [];
      const result = await runJob(fixture('validating.mjs'), {
        mode: 'exactly-once',
        parallelism: 2,
        unaligned: true,
        checkpointIntervalMs: 50,
        checkpointDir: chk,
        onWarning: (m) => warnings.push(m),
        // Paced (about 2 s) so that enough checkpoints come however busy the machine; the slow
        // stage (10k records/s per subtask) is slower than the source (30k/s), so the rings
        // fill and data is in flight at every barrier, and small rings keep the final (aligned)
        // checkpoint's drain short.
        ringCapacity: 64 * 1024,
        args: { count: String(COUNT), keys: String(KEYS), rate: '30000', slowUs: '100', output: join(dir, 'out'), faults: '' },
      });
      const failed = warnings.filter((w) => /^checkpoint \d+ failed/.test(w));
      assert.equal(result.restarts, 0, warnings.join('\n'));
      assert.deepEqual(result.checkpointsFailedByReason, { 'snapshot-write-failed': 2 }, warnings.join('\n'));
      assert.equal(failed.length, 2, failed.join('\n'));
      for (const [k, id] of [3, 4].entries()) {
        const w = failed[k];
        assert.ok(!w.includes('\n'), w);
        // Where (the task's operator, subtask), why (the errno), and which file.
        assert.match(
          w,
          new RegExp(
            `^checkpoint ${id} failed: \\[snapshot-write-failed\\] at '[^']+' subtask [01]: writing state file \\S+/chk-${id}/\\S+ of checkpoint ${id} failed: E[A-Z]+: `,
          ),
          w,
        );
      }
      const later = result.checkpoints.filter((c) => c.id > 4 && !c.final);
      assert.ok(later.length >= 1, `a checkpoint completed after the failed ones: ${result.checkpoints.map((c) => c.id).join(', ')}`);
      assert.ok(
        later.some((c) => c.unaligned && c.inFlightBytes > 0),
        `a later checkpoint wrote in-flight data: ${JSON.stringify(later.map((c) => [c.id, c.unaligned, c.inFlightBytes]))}`,
      );
      // Written on the writer thread: only there is the thread's own time measured (within the
      // write's, from hand-over to its durability known where it was awaited).
      assert.ok(
        later.every((c) => c.writeIoMs !== undefined && c.writeIoMs > 0 && c.writeIoMs <= (c.writeMs ?? 0) + 0.5),
        `every file went through the writer thread: ${JSON.stringify(later.map((c) => [c.id, c.writeMs, c.writeIoMs]))}`,
      );
      assert.deepEqual(compareWithFaultFree(readCommitted(join(dir, 'out')), COUNT, KEYS), { lost: 0, duplicated: 0, wrong: 0 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
