/**
 * Writes a task's checkpoint state files on a thread of its own, after Flink's
 * ChannelStateWriteRequestExecutor. Through async fs calls each step of a file write (mkdir,
 * open, write, fsync, close, rename) completes only when the task's event loop comes round,
 * and a backpressured task comes round late: at 1 MiB rings the in-flight data's write took
 * 18 / 35 ms (p50 / p99) of an unaligned checkpoint, almost all of it waiting for the loop.
 * Here the writer thread runs the whole chain with synchronous calls and the task gets one
 * reply: the checksum, or the error as data (the task declines the checkpoint with it).
 *
 * One writer thread per task thread (as the heap snapshot packer): a task's files queue
 * behind each other only, and no port has to be handed across threads at deployment. Data the
 * caller owns is transferred, not copied. The thread holds the process open only while a
 * write is in it; if it dies, the writes in it fail and the next write starts another.
 */
import { helperThread } from '../helper-thread.js';
import { buffersOf } from './owned-bytes.js';

export interface WriteRequest {
  job: number;
  /** The checkpoint folder, created if missing. */
  dir: string;
  tmp: string;
  final: string;
  /** The file's bytes: these parts one after the other. */
  parts: Uint8Array[];
}

/** Asks for a reply once the thread is up and warmed up (see readyStateFileWriter). */
export interface ReadyRequest {
  job: number;
}

/** The file's checksum, the thread's time on it, and when (timeOrigin + now) it took the file and had it fsync'd and renamed. */
export interface WriteDone {
  checksum: string;
  ioMs: number;
  tookAt: number;
  syncedAt: number;
}

export type WriteReply = ({ job: number; error?: undefined } & WriteDone) | { job: number; error: string; errno: string | undefined };

/** A failed write as the writer thread reported it (message and errno code, as fs errors carry them). */
export class StateFileWriteError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
  }
}

const writer = helperThread<WriteReply>(new URL('./state-file-writer-worker.js', import.meta.url), (why) => new StateFileWriteError(`the state-file writer thread ${why}`, undefined));

/** Starts this thread's writer thread ahead of the first write (a thread takes tens of ms to start). */
export function startStateFileWriter(): void {
  writer.get();
}

/**
 * Resolves once this thread's writer thread is up and has written its warm-up file (its first
 * mkdir, write, fsync and rename, done at its start): awaited at a task's deployment, so a
 * job's first checkpoint waits neither for the thread to start nor for its first write's
 * one-time costs. A thread already running answers at once.
 */
export async function readyStateFileWriter(): Promise<void> {
  const thread = writer.get();
  const { job, reply } = thread.open();
  thread.post({ job } satisfies ReadyRequest, undefined, true);
  const r = await reply;
  if (r.error !== undefined) throw new StateFileWriteError(r.error, r.errno);
}

/**
 * Writes `parts` (one after the other) to `tmp`, fsyncs it and renames it to `final`, on the
 * writer thread; resolves with the checksum of what was written and the time the thread spent
 * on it (`ioMs`: the rest of the wait is the queue and the reply reaching the caller's loop).
 * With `transfer` the parts' buffers move to the writer thread (the caller must own all of
 * them and not read them again).
 */
export async function writeOnWriterThread(dir: string, tmp: string, final: string, parts: Uint8Array[], transfer: boolean): Promise<WriteDone> {
  const thread = writer.get();
  const { job, reply } = thread.open();
  thread.post({ job, dir, tmp, final, parts } satisfies WriteRequest, transfer ? buffersOf(parts) : undefined, true);
  const r = await reply;
  if (r.error !== undefined) throw new StateFileWriteError(r.error, r.errno);
  return r;
}

/** Ends this thread's writer thread (writes in it fail); the next write starts another. */
export function stopStateFileWriter(): Promise<void> {
  return writer.stop();
}
