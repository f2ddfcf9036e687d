/**
 * Writes a task's checkpoint state files on a thread of its own, after Flink's
 * ChannelStateWriteRequestExecutor. Through async fs calls each step of a file write (mkdir,
 * open, write, fsync, close, rename) completes only when the task's event loop comes round,
 * and a backpressured task comes round late: at 1 MiB rings the in-flight data's write took
 * 18 / 35 ms (p50 / p99) of an unaligned checkpoint, almost all of it waiting for the loop.
 * Here the writer thread runs the whole chain with synchronous calls and the task gets one
 * reply: the checksum, or the error as data (the task declines the checkpoint with it).
 *
 * A task writes one file per checkpoint (its task file, see task-file.ts: every piece of its
 * state one after the other, so one fsync), and the file's checksums are taken here, one per
 * piece. Two writer threads per task thread (WRITER_LANES), and a file goes to one with no write
 * in it: a task's file of one checkpoint may still be syncing when the next is handed over, and
 * two fsyncs at once share the journal commit (two 60 KB files on this ext4 under load: p50
 * 1.1-2.1 ms on two threads, 1.9-6.9 ms on one). No port has to
 * be handed across threads at deployment. Data the caller owns is transferred, not copied. A
 * thread holds the process open only while a write is in it; if it dies, the writes in it fail
 * and the next write starts another.
 */
import type { MessagePort, TransferListItem } from 'node:worker_threads';
import { helperThread, type HelperThread } from '../helper-thread.js';
import { buffersOf } from './owned-bytes.js';
import { wallNow } from '../channel/time-account.js';

export interface WriteRequest {
  job: number;
  /** The checkpoint folder, created if missing. */
  dir: string;
  tmp: string;
  final: string;
  /** The file's bytes: these parts one after the other. */
  parts: Uint8Array[];
  /**
   * How many of `parts` each piece takes, in order, and where it starts in the file (absent: one
   * piece, the whole file, named without an offset). Each piece gets its own checksum.
   */
  pieces?: FilePiece[];
  /**
   * Where the file's durability is announced, besides the reply (see FileDurable): a port whose
   * other end is on the main thread, so the checkpoint completes without the task's loop coming
   * round to take the reply. Closed after its one notice, or without one if the write failed.
   */
  durable?: { port: MessagePort; file: string; handedAt: number };
}

/** One piece of a file written in pieces: its parts among the request's, and its offset in the file. */
export interface FilePiece {
  parts: number;
  offset: number;
}

/** A piece's checksum, and its offset when the file was written in pieces (see pieceKey). */
export interface PieceChecksum {
  offset?: number;
  checksum: string;
}

/**
 * Posted on a write's `durable` port once the file is fsync'd and renamed (never on failure:
 * the task declines then, from its reply). `file` is the handles' name (chk-N/…); the times are
 * as in WriteDone.
 */
export interface FileDurable {
  file: string;
  /** One per piece (one for a file written whole). */
  pieces: PieceChecksum[];
  /** When the task handed the file over (wall clock). */
  handedAt: number;
  tookAt: number;
  syncedAt: number;
}

/** Asks for a reply once the thread is up and warmed up (see readyStateFileWriter). */
export interface ReadyRequest {
  job: number;
}

/** The file's checksums (one per piece), the thread's time on it, when (timeOrigin + now) it took the file and had it fsync'd and renamed, and which writer thread (its threadId). */
export interface WriteDone {
  checksums: PieceChecksum[];
  ioMs: number;
  tookAt: number;
  syncedAt: number;
  thread: number;
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

/** Writer threads per task thread: a task's file of one checkpoint may overlap the next one's. */
export const WRITER_LANES = 2;

const lanes = Array.from({ length: WRITER_LANES }, () =>
  helperThread<WriteReply>(
    new URL('./state-file-writer-worker.js', import.meta.url),
    (why) => new StateFileWriteError(`the state-file writer thread ${why}`, undefined),
  ),
);

/** The writer thread a new file goes to: the first with no write in it, else the one with fewest. */
function idlestWriter(): HelperThread<WriteReply> {
  let best = lanes[0].get();
  for (let i = 1; i < lanes.length && best.jobs > 0; i++) {
    const t = lanes[i].get();
    if (t.jobs < best.jobs) best = t;
  }
  return best;
}

/** Starts this thread's writer threads ahead of the first write (a thread takes tens of ms to start). */
export function startStateFileWriter(): void {
  for (const l of lanes) l.get();
}

/**
 * Resolves once this thread's writer thread is up and has written its warm-up file (its first
 * mkdir, write, fsync and rename, done at its start): awaited at a task's deployment, so a
 * job's first checkpoint waits neither for the thread to start nor for its first write's
 * one-time costs. A thread already running answers at once.
 */
export async function readyStateFileWriter(): Promise<void> {
  await Promise.all(
    lanes.map(async (l) => {
      const thread = l.get();
      const { job, reply } = thread.open();
      thread.post({ job } satisfies ReadyRequest, undefined, true);
      const r = await reply;
      if (r.error !== undefined) throw new StateFileWriteError(r.error, r.errno);
    }),
  );
}

/**
 * Writes `parts` (one after the other) to `tmp`, fsyncs it and renames it to `final`, on the
 * writer thread; resolves with the checksums of what was written (one per piece of `pieces`, or
 * one of the whole) and the time the thread spent on it (`ioMs`: the rest of the wait is the
 * queue and the reply reaching the caller's loop). The buffers in `transfer` move to the writer
 * thread (the caller must own them and not read them again); other parts are copied there, or
 * read in place if shared. `durable` (moved to the writer thread) gets a FileDurable named
 * `file` once the file is durable, before the reply is posted.
 */
export async function writeOnWriterThread(
  dir: string,
  tmp: string,
  final: string,
  parts: Uint8Array[],
  transfer: readonly Uint8Array[],
  durable?: { port: MessagePort; file: string },
  pieces?: FilePiece[],
): Promise<WriteDone> {
  const thread = idlestWriter();
  const { job, reply } = thread.open();
  const moved: TransferListItem[] = buffersOf(transfer);
  if (durable) moved.push(durable.port);
  const request: WriteRequest = {
    job,
    dir,
    tmp,
    final,
    parts,
    ...(pieces ? { pieces } : {}),
    ...(durable ? { durable: { ...durable, handedAt: wallNow() } } : {}),
  };
  thread.post(request, moved.length > 0 ? moved : undefined, true);
  const r = await reply;
  if (r.error !== undefined) throw new StateFileWriteError(r.error, r.errno);
  return r;
}

/** Ends this thread's writer threads (writes in them fail); the next write starts others. */
export async function stopStateFileWriter(): Promise<void> {
  await Promise.all(lanes.map((l) => l.stop()));
}
