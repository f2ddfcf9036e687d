/**
 * The state-file writer thread (see state-file-writer.ts): each request is one state file,
 * written with synchronous calls — create the temporary name, write, fsync, close, rename —
 * and answered once, with the checksum of the bytes written (one per piece of a task file) or
 * the error. Requests already
 * queued are taken as one batch: every file written first, then each fsync'd and renamed, so
 * the first fsync's journal commit carries the others' data and theirs cost little (a task's
 * in-flight data and its operator state arrive together). Each file is still fsync'd before
 * its own rename. A request with a `durable` port also gets its file's notice posted there, for
 * the main thread, before the reply.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, unlinkSync, writevSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parentPort, receiveMessageOnPort, threadId, workerData } from 'node:worker_threads';
import { helperReplies } from '../helper-reply.js';
import { announceThread } from '../thread-roles.js';
import { checksumOfParts } from './checksum.js';
import type { FileDurable, PieceChecksum, ReadyRequest, WriteReply, WriteRequest } from './state-file-writer.js';

const port = parentPort!;
const reply = helperReplies();
announceThread({ role: 'writer', name: String(workerData?.owner ?? '') });

interface Open {
  m: WriteRequest;
  start: number;
  fd: number;
}

warmUp();

port.on('message', (first: WriteRequest | ReadyRequest) => {
  const batch: Open[] = [];
  for (
    let m: WriteRequest | ReadyRequest | undefined = first;
    m !== undefined;
    m = receiveMessageOnPort(port)?.message as WriteRequest | ReadyRequest | undefined
  ) {
    // A readiness ping (readyStateFileWriter): the warm-up ran before any message was taken.
    if (!('parts' in m)) {
      reply({ job: m.job, checksums: [], ioMs: 0, tookAt: 0, syncedAt: 0, thread: threadId } satisfies WriteReply);
      continue;
    }
    const o: Open = { m, start: performance.now(), fd: -1 };
    if (attempt(o, () => write(o))) batch.push(o);
  }
  for (const o of batch) {
    if (!attempt(o, () => syncAndRename(o))) continue;
    const end = performance.now();
    const origin = performance.timeOrigin;
    const checksums = checksumsOf(o.m);
    const tookAt = origin + o.start;
    const syncedAt = origin + end;
    // The main thread first: it completes the checkpoint on this, while the reply waits for the
    // task's loop to come round (see FileDurable).
    const d = o.m.durable;
    if (d) {
      d.port.postMessage({ file: d.file, pieces: checksums, handedAt: d.handedAt, tookAt, syncedAt } satisfies FileDurable);
      d.port.close();
    }
    reply({ job: o.m.job, checksums, ioMs: end - o.start, tookAt, syncedAt, thread: threadId } satisfies WriteReply);
  }
});

/** One checksum per piece of the request (one for a file written whole). */
function checksumsOf(m: WriteRequest): PieceChecksum[] {
  if (m.pieces === undefined) return [{ checksum: checksumOfParts(m.parts) }];
  let first = 0;
  return m.pieces.map((p) => {
    const checksum = checksumOfParts(m.parts.slice(first, (first += p.parts)));
    return { offset: p.offset, checksum };
  });
}

function write(o: Open): void {
  // Not durable here: chk-N's own entry is synced by the coordinator before `_latest`.
  mkdirSync(o.m.dir, { recursive: true });
  o.fd = openSync(o.m.tmp, 'wx');
  writeAll(o.fd, o.m.parts);
}

/** Every part, in order, with as few writev calls as the system takes (it may write less than asked). */
function writeAll(fd: number, parts: Uint8Array[]): void {
  let rest = parts.filter((p) => p.byteLength > 0);
  while (rest.length > 0) {
    let n = writevSync(fd, rest);
    let i = 0;
    for (; i < rest.length && n >= rest[i].byteLength; i++) n -= rest[i].byteLength;
    rest = rest.slice(i);
    // Part i went out in part: what is left of it comes first next time.
    if (n > 0) rest[0] = rest[0].subarray(n);
  }
}

function syncAndRename(o: Open): void {
  fsyncSync(o.fd);
  closeSync(o.fd);
  o.fd = -1;
  renameSync(o.m.tmp, o.m.final);
}

/** Runs one step of a file; a failure is answered (the file cleaned up) and ends that file. */
function attempt(o: Open, step: () => void): boolean {
  try {
    step();
    return true;
  } catch (err) {
    if (o.fd >= 0) quietly(() => closeSync(o.fd));
    // Not created, or the folder is gone: nothing to clean up then.
    quietly(() => unlinkSync(o.m.tmp));
    // No notice: the checkpoint waits for the task's decline, which names the operator.
    o.m.durable?.port.close();
    const e = err as NodeJS.ErrnoException;
    reply({ job: o.m.job, error: e?.message ?? String(err), errno: e?.code } satisfies WriteReply);
    return false;
  }
}

function quietly(f: () => void): void {
  try {
    f();
  } catch {
    // The step already failed; that error is the one reported.
  }
}

/**
 * One throw-away file through the whole chain, at the thread's start (a task's deployment),
 * so the first checkpoint does not pay for it: a new thread's first mkdir, open, writev,
 * fsync, rename and CRC-32 load and compile their code, and the first unaligned checkpoint of
 * a job spent 17 ms on this thread against 3-7 ms for the next ones. In the system's
 * temporary folder, so a kill during it leaves nothing in the checkpoint directory.
 */
function warmUp(): void {
  const dir = tmpdir();
  const name = `.eddy-writer-warm-up-${process.pid}-${threadId}`;
  const o: Open = {
    m: { job: 0, dir, tmp: join(dir, `${name}.tmp`), final: join(dir, name), parts: [new Uint8Array(64), new Uint8Array(64)] },
    start: 0,
    fd: -1,
  };
  // A thread that cannot do this will fail its real writes, and report it there.
  if (!attempt(o, () => write(o)) || !attempt(o, () => syncAndRename(o))) return;
  checksumOfParts(o.m.parts);
  quietly(() => unlinkSync(o.m.final));
}
