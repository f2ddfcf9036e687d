/**
 * The state-file writer thread (see state-file-writer.ts): each request is one state file,
 * written start to end with synchronous calls — create the temporary name, write, fsync,
 * close, rename — and answered once, with the checksum of the bytes written or the error.
 * Requests are served in arrival order, one at a time, as Flink's channel-state executor does.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { announceThread } from '../thread-roles.js';
import { checksumOf } from './checksum.js';
import type { WriteReply, WriteRequest } from './state-file-writer.js';

const port = parentPort!;
announceThread({ role: 'writer', name: String(workerData?.owner ?? '') });

port.on('message', (m: WriteRequest) => {
  const start = performance.now();
  let fd = -1;
  try {
    // Not durable here: chk-N's own entry is synced by the coordinator before `_latest`.
    mkdirSync(m.dir, { recursive: true });
    fd = openSync(m.tmp, 'wx');
    for (let at = 0; at < m.data.byteLength; ) at += writeSync(fd, m.data, at);
    fsyncSync(fd);
    closeSync(fd);
    fd = -1;
    renameSync(m.tmp, m.final);
    const checksum = checksumOf(m.data);
    const reply: WriteReply = { job: m.job, checksum, ioMs: performance.now() - start };
    port.postMessage(reply);
  } catch (err) {
    if (fd >= 0) closeQuietly(fd);
    try {
      unlinkSync(m.tmp);
    } catch {
      // Not created, or the folder is gone: nothing to clean up.
    }
    const e = err as NodeJS.ErrnoException;
    const reply: WriteReply = { job: m.job, error: e?.message ?? String(err), errno: e?.code };
    port.postMessage(reply);
  }
});

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // The write already failed; that error is the one to report.
  }
}
