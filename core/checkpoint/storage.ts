/**
 * Checkpoint storage on the local file system:
 *
 *   <dir>/chk-<N>/<state files>     written by the tasks, each durable before it is acknowledged
 *   <dir>/chk-<N>/_metadata         written last by the coordinator; its presence is what makes
 *                                   checkpoint N exist
 *   <dir>/_latest                   the id of the newest completed checkpoint, written after its
 *                                   _metadata: a newest checkpoint whose _metadata went missing
 *                                   is then refused instead of silently skipped
 *
 * A task writes one state file per checkpoint since task files (`<vertex id>-<vertex>-<subtask>.bin`,
 * every piece of its state one after the other, handles with offsets: see task-file.ts); a
 * checkpoint written before them has a file per piece, and reads the same way.
 *
 * Every write goes to a temporary name, is fsync'd, renamed, and the directory fsync'd, so a
 * crash at any point leaves either the old state or the new one, never a torn file under a
 * final name. For the tasks' state files the directory fsync is made once per checkpoint, by
 * the coordinator just before `_metadata` (`commitMetadata`): a state file's name only has to
 * be durable before the metadata that refers to it, and one fsync per file on the tasks cost
 * an unaligned checkpoint under backpressure a large part of its duration. chk-N's own entry
 * is made durable when the checkpoint is opened (`openCheckpoint`, as it is armed or
 * triggered), before any task writes into it. Deletion runs the other way round: `_metadata`
 * goes first, so a half-deleted checkpoint is merely incomplete, never a complete one with
 * files missing.
 */
import { mkdir, open, readdir, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import { dirname, isAbsolute, join, normalize, resolve, sep } from 'node:path';
import { MessageChannel, threadId, type MessagePort } from 'node:worker_threads';
import { EddyError } from '../failure.js';
import { checksumFromCrc, checksumOf, checksumOfParts } from './checksum.js';
import { readyStateFileWriter, startStateFileWriter, writeOnWriterThread } from './state-file-writer.js';
import type { TaskFile } from './task-file.js';
import { ownsWholeBuffer } from './owned-bytes.js';
import { errnoCode, mkdirDurable, pathExists, replaceDurably, syncDir, writeAndSync } from './fs-durable.js';
import {
  decodeMetadata,
  encodeMetadata,
  PENDING_CHECKSUM,
  referencedFiles,
  type CheckpointMetadata,
  type StateFileHandle,
} from './metadata.js';
import type { PersistMarks } from './checkpoint-stats.js';
import { wallNow } from '../channel/time-account.js';

export type { CheckpointMetadata, KeyedStateHandle, OperatorStateHandles, StateFileHandle, SubtaskStateHandles } from './metadata.js';

/**
 * A checkpoint that has a `_metadata` file. A corrupt one is listed, not skipped: the caller
 * decides (the CLI shows it, `latest()` refuses to look past it).
 */
export type CheckpointEntry =
  { id: number; status: 'complete'; metadata: CheckpointMetadata } | { id: number; status: 'corrupt'; error: EddyError };

export type ScanEntry = CheckpointEntry | { id: number; status: 'incomplete' };

/** A checkpoint's directory name, `chk-<id>`. */
export const CHK_DIR = /^chk-(\d+)$/;
export const METADATA = '_metadata';
const LATEST = '_latest';

let tmpSeq = 0;

function fail(message: string, err?: unknown): EddyError {
  return new EddyError('CHECKPOINT_FAILED', err === undefined ? message : `${message}: ${(err as Error).message ?? String(err)}`, {
    cause: err instanceof Error ? err.message : undefined,
  });
}

function checkId(id: number): void {
  if (!Number.isSafeInteger(id) || id < 0) throw fail(`checkpoint id must be a non-negative integer, got ${id}`);
}

function checkName(name: string): void {
  // '.' and '_' prefixes are reserved for temporary files and _metadata.
  if (name.length === 0 || /[/\\\0]/.test(name) || name.startsWith('.') || name.startsWith('_')) {
    throw fail(`invalid state file name '${name}': it must be a plain file name not starting with '.' or '_'`);
  }
}

/** How a state file is written (see writeStateFile). */
export interface StateFileWrite {
  /**
   * The caller owns all of the data's buffer (every part's buffer, for parts) and does not
   * read it again: with a writer thread it moves there (a SharedArrayBuffer is read there in
   * place, and the caller leaves it unchanged until the write resolves). Other data is written through async fs calls here (an LMDB delta may be
   * merged into the next one, so it stays; copying it to the thread would cost the loop more).
   */
  transfer?: boolean;
  /** Set to the time the writer thread spent on the file, when it took it and had it durable (wall clock), and which writer thread (written there only). */
  timing?: { ioMs?: number; tookAt?: number; syncedAt?: number; thread?: number };
  /** The data's CRC-32, already taken off the record loop (where it was packed); else taken here. */
  crc32?: number;
  /** Writer thread only: moved there, to get the file's FileDurable (see handOffTaskFile). */
  durable?: MessagePort;
}

/**
 * A task file handed to the writer thread (handOffTaskFile): its pieces' handles now, whose
 * checksums are PENDING_CHECKSUM until the write ends; the port on which the writer announces
 * the file durable (FileDurable), for the main thread; and the write itself, which resolves with
 * the complete handles (filling in the checksums of `handles`) or rejects with the failure.
 */
export interface HandedOff {
  handles: StateFileHandle[];
  notices: MessagePort;
  written: Promise<StateFileHandle[]>;
}

/** A piece of a file being written: its parts, and its CRC-32 if already taken. */
interface PieceData {
  parts: Uint8Array[];
  crc32?: number;
}

export interface StorageOptions {
  /** State files handed over (`transfer`) are written on this thread's writer thread (state-file-writer.ts), not through async fs calls. */
  writerThread?: boolean;
}

export class CheckpointStorage {
  readonly dir: string;
  private readonly writerThread: boolean;
  /** Per checkpoint not yet complete: chk-N created and its entry durable (see openCheckpoint). */
  private readonly opened = new Map<number, Opening>();

  constructor(dir: string, options: StorageOptions = {}) {
    this.dir = resolve(dir);
    this.writerThread = options.writerThread === true;
    if (this.writerThread) startStateFileWriter();
  }

  /**
   * Resolves once writes can start without a one-time cost: the writer thread, when there is
   * one, is up and has made its first write (see readyStateFileWriter).
   */
  async ready(): Promise<void> {
    if (this.writerThread) await readyStateFileWriter();
  }

  checkpointDir(id: number): string {
    return join(this.dir, `chk-${id}`);
  }

  /** The absolute path of a handle's file; a handle that points outside the directory is corrupt. */
  pathOf(handle: StateFileHandle): string {
    const rel = normalize(handle.file);
    if (isAbsolute(rel) || rel === '..' || rel.startsWith('..' + sep)) {
      throw new EddyError('CHECKPOINT_CORRUPT', `state file '${handle.file}' lies outside the checkpoint directory ${this.dir}`);
    }
    return join(this.dir, rel);
  }

  /**
   * Write one state file of checkpoint `id`: temp name, fsync, rename. Its content is durable
   * when this resolves; its name once `commitMetadata` has synced the directory (see above).
   * `data` may come in parts, the file being their bytes one after the other.
   */
  async writeStateFile(id: number, name: string, data: Uint8Array | Uint8Array[], how: StateFileWrite = {}): Promise<StateFileHandle> {
    const parts = Array.isArray(data) ? data : [data];
    // Counted before the write: transferred buffers are empty here after it.
    const bytes = bytesOf(parts);
    // Shared memory (a heap snapshot's pooled output) is read where it is, not transferred.
    const transfer = this.writesOffLoop(data, how) ? (isShared(parts) ? [] : parts) : undefined;
    const [checksum] = await this.writePieces(id, name, [{ parts, crc32: how.crc32 }], false, transfer, how);
    return { file: `chk-${id}/${name}`, bytes, checksum };
  }

  /**
   * Writes task file `f` (see task-file.ts) in one go, one fsync, on the writer thread if this
   * storage has one, and fills in its pieces' checksums: resolves with their handles.
   */
  async writeTaskFile(f: TaskFile, how: StateFileWrite = {}): Promise<StateFileHandle[]> {
    const transfer = this.writerThread ? f.forWriterThread() : undefined;
    const checksums = await this.writePieces(f.id, f.name, f.pieces, true, transfer, how);
    f.pieces.forEach((p, i) => (p.handle.checksum = checksums[i]));
    return f.pieces.map((p) => p.handle);
  }

  /**
   * Writes `pieces` one after the other to chk-`id`/`name` (temp name, fsync, rename) and returns
   * their checksums. `transfer`: the parts that move to the writer thread, which writes the
   * file; undefined: written here through async fs calls. `offsets`: the pieces are named by
   * offset (a task file), else the one piece is the whole file.
   */
  private async writePieces(
    id: number,
    name: string,
    pieces: readonly PieceData[],
    offsets: boolean,
    transfer: readonly Uint8Array[] | undefined,
    how: StateFileWrite,
  ): Promise<string[]> {
    checkId(id);
    checkName(name);
    const chkDir = this.checkpointDir(id);
    const final = join(chkDir, name);
    // Unique per process and thread: subtasks of one checkpoint write side by side.
    const tmp = join(chkDir, `.${name}.${process.pid}-${threadId}-${++tmpSeq}.tmp`);
    const parts = pieces.flatMap((p) => p.parts);
    if (transfer !== undefined) {
      try {
        const durable = how.durable && { port: how.durable, file: `chk-${id}/${name}` };
        const done = await writeOnWriterThread(chkDir, tmp, final, parts, transfer, durable, offsets ? placed(pieces) : undefined);
        if (how.timing) Object.assign(how.timing, { ioMs: done.ioMs, tookAt: done.tookAt, syncedAt: done.syncedAt, thread: done.thread });
        return done.checksums.map((c) => c.checksum);
      } catch (err) {
        throw fail(`writing state file ${final} of checkpoint ${id} failed`, err);
      }
    }
    try {
      // Not mkdirDurable: chk-N's own entry is synced by commitMetadata, before `_latest`.
      await mkdir(chkDir, { recursive: true });
      await writeAndSync(tmp, parts, 'wx');
      await rename(tmp, final);
    } catch (err) {
      await unlink(tmp).catch(() => {});
      throw fail(`writing state file ${final} of checkpoint ${id} failed`, err);
    }
    return pieces.map((p) => (p.crc32 !== undefined ? checksumFromCrc(p.crc32) : checksumOfParts(p.parts)));
  }

  /**
   * Starts writing task file `f` on the writer thread (this storage must have one) and returns
   * before it is durable (see HandedOff): the checkpoint's ack need not wait for the writer's
   * reply to come round this thread's loop; the main thread hears from the writer itself.
   */
  handOffTaskFile(f: TaskFile, how: StateFileWrite): HandedOff {
    if (!this.writerThread) throw new Error(`task file ${f.name} cannot be handed off: this storage has no writer thread`);
    const { port1, port2 } = new MessageChannel();
    const written = this.writeTaskFile(f, { ...how, durable: port2 }).catch((err: unknown) => {
      // Refused before it reached the writer (which closes it otherwise): no notice will come.
      port2.close();
      throw err;
    });
    // Whoever hands off awaits it later: a failure before that is not unhandled.
    written.catch(() => {});
    return { handles: f.pieces.map((p) => p.handle), notices: port1, written };
  }

  /** Whether task files are written on the writer thread (else each step waits for the caller's event loop). */
  get writesTaskFilesOffLoop(): boolean {
    return this.writerThread;
  }

  /**
   * Whether writeStateFile(…, data, how) runs on the writer thread; otherwise each of its steps
   * waits for the caller's event loop to come round.
   */
  writesOffLoop(data: Uint8Array | Uint8Array[], how: StateFileWrite = {}): boolean {
    // Parts are the caller's own buffers by contract (encodeChannelStateParts); one buffer must be all its own.
    // A SharedArrayBuffer goes too: the caller keeps it unchanged until the write resolves
    // (a heap snapshot's output returns to its pool only then).
    return (
      this.writerThread &&
      how.transfer === true &&
      (Array.isArray(data) ? data.every((p) => p.buffer instanceof ArrayBuffer) : ownsWholeBuffer(data) || isShared([data]))
    );
  }

  /**
   * Creates chk-N and makes its entry durable (an fsync of the directory holding it), ahead of
   * the checkpoint's completion: the coordinator's host calls this as it arms or triggers
   * checkpoint `id`, so that fsync is no longer on the completion path. Idempotent;
   * commitMetadata waits for it (and starts it if no one did), and reports its failure.
   */
  openCheckpoint(id: number): Promise<void> {
    return this.opening(id).durable;
  }

  private opening(id: number): Opening {
    checkId(id);
    let o = this.opened.get(id);
    if (o === undefined) {
      const chkDir = this.checkpointDir(id);
      const made = mkdir(chkDir, { recursive: true });
      const durable = made.then(async (first) => {
        // chk-N's entry always (a task may have created it, unsynced), and the entry of every
        // directory this call created above it.
        for (let d = chkDir; ; d = dirname(d)) {
          await syncDir(dirname(d));
          if (first === undefined || d === first || dirname(d) === d) break;
        }
      });
      o = { created: made.then(() => undefined), durable };
      // Reported by commitMetadata, which awaits them.
      o.created.catch(() => {});
      durable.catch(() => {});
      this.opened.set(id, o);
    }
    return o;
  }

  /**
   * Make checkpoint `id` complete: write its metadata atomically, and make chk-N's own entry
   * durable. `marks`: when each step ended (wall clock). `recordLatest: false` leaves `_latest`
   * to the caller (recordLatest), to write after it has told the tasks: a `_latest` that lags
   * behind is harmless (latest() takes the newest complete chk-N it finds, and refuses only a
   * `_latest` ahead of it), so it need not hold up the sinks' commits.
   *
   * What must hold before `_metadata` gets its name runs at once, not one after the other: the
   * state files' names durable (one fsync of chk-N), every referenced file there at its size,
   * `_metadata`'s bytes durable under a temporary name, and chk-N's own entry durable (see
   * openCheckpoint, usually done long before). Then the rename, and one more fsync of chk-N for
   * `_metadata`'s name. Serially these were four fsyncs after the last ack; now two rounds.
   */
  async commitMetadata(id: number, metadata: CheckpointMetadata, marks: PersistMarks = {}, recordLatest = true): Promise<void> {
    checkId(id);
    if (metadata.id !== id) throw fail(`metadata of checkpoint ${metadata.id} cannot complete checkpoint ${id}`);
    const chkDir = this.checkpointDir(id);
    const path = join(chkDir, METADATA);
    const tmp = `${path}.tmp`;
    const { created, durable } = this.opening(id);
    // In chk-N, which exists from openCheckpoint on (a checkpoint whose tasks wrote no file has no other).
    const inChk = <T>(step: () => Promise<T>) => created.then(step);
    const failures: (EddyError | undefined)[] = await Promise.all([
      pathExists(path).then((exists) => (exists ? fail(`checkpoint ${id} is already complete (${path} exists)`) : undefined)),
      // A cheap stat of every file, so a checkpoint never becomes complete while referencing a
      // file that is not there; checksums were taken by the writers from the bytes they synced.
      ...referencedFiles(metadata).map((h) => this.checkReferenced(id, h)),
      // The state files' names (renamed in by the tasks without a directory fsync) become
      // durable here, strictly before the rename that gives _metadata its name.
      settle(
        inChk(() => syncDir(chkDir)),
        (err) => fail(`syncing checkpoint directory ${chkDir} failed`, err),
      ),
      // chk-N was created by a task's thread without a sync of the root: until this, a power
      // cut could take the whole folder, after the sinks had committed on it.
      settle(durable, (err) => fail(`syncing checkpoint directory ${this.dir} failed`, err)),
      settle(
        inChk(() => writeAndSync(tmp, encodeMetadata(metadata), 'w')),
        (err) => fail(`writing metadata ${path} of checkpoint ${id} failed`, err),
      ),
    ]);
    marks.dirSyncedAt = wallNow();
    const failure = failures.find((f) => f !== undefined);
    if (failure !== undefined) {
      await unlink(tmp).catch(() => {});
      throw failure;
    }
    try {
      await rename(tmp, path);
      await syncDir(chkDir);
    } catch (err) {
      await unlink(tmp).catch(() => {});
      throw fail(`writing metadata ${path} of checkpoint ${id} failed`, err);
    }
    marks.metadataAt = wallNow();
    // Synced before the rename (above): the completion has it from here.
    marks.rootSyncedAt = marks.metadataAt;
    for (const opened of this.opened.keys()) if (opened <= id) this.opened.delete(opened);
    if (recordLatest) await this.recordLatest(id);
  }

  /** Undefined when state file `h` of checkpoint `id` is there with its size; else the failure that says why not. */
  private async checkReferenced(id: number, h: StateFileHandle): Promise<EddyError | undefined> {
    let p: string;
    try {
      p = this.pathOf(h);
    } catch (err) {
      return err as EddyError;
    }
    if (h.checksum === PENDING_CHECKSUM) return fail(`cannot complete checkpoint ${id}: state file ${p} is not known to be durable yet`);
    const size = await stat(p).then(
      (s) => s.size,
      () => undefined,
    );
    // A piece of a task file needs the file to reach its end; a whole file is exactly the piece.
    const end = (h.offset ?? 0) + h.bytes;
    if (h.offset === undefined ? size === h.bytes : size !== undefined && size >= end) return undefined;
    return fail(
      `cannot complete checkpoint ${id}: state file ${p} ${size === undefined ? 'is missing' : `has ${size} bytes`}, expected ${h.offset === undefined ? h.bytes : `at least ${end}`}`,
    );
  }

  /** Records checkpoint `id` (complete) as the newest in `_latest`, durably. */
  async recordLatest(id: number): Promise<void> {
    try {
      await replaceDurably(join(this.dir, LATEST), `${JSON.stringify({ id })}\n`);
    } catch (err) {
      throw fail(`recording checkpoint ${id} as the latest in ${join(this.dir, LATEST)} failed`, err);
    }
  }

  /** The id `_latest` names (the newest checkpoint ever completed here), if any. */
  async recordedLatest(): Promise<number | undefined> {
    const path = join(this.dir, LATEST);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return undefined;
      throw fail(`reading ${path} failed`, err);
    }
    let id: unknown;
    try {
      id = (JSON.parse(text) as { id?: unknown }).id;
    } catch {
      id = undefined;
    }
    if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) {
      throw new EddyError('CHECKPOINT_CORRUPT', `${path} is corrupt: expected {"id": N}, found ${JSON.stringify(text.slice(0, 80))}`);
    }
    return id;
  }

  /**
   * Read a state file back, verifying its length and checksum: the whole file, or for a handle
   * with an offset, that piece of a task file (task-file.ts). Either is refused in one line
   * naming the file when it is missing, short or does not match its checksum.
   */
  async readStateFile(handle: StateFileHandle): Promise<Uint8Array> {
    const path = this.pathOf(handle);
    let data: Buffer;
    try {
      data = handle.offset === undefined ? await readFile(path) : await readPiece(path, handle.offset, handle.bytes);
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'ENOENT' || code === 'EISDIR' || code === 'ENOTDIR') {
        throw new EddyError(
          'CHECKPOINT_CORRUPT',
          `state file ${path} is missing (expected ${handle.bytes} bytes with checksum ${handle.checksum})`,
        );
      }
      throw fail(`reading state file ${path} failed`, err);
    }
    const actual = checksumOf(data);
    if (data.byteLength !== handle.bytes || actual !== handle.checksum) {
      const where = handle.offset === undefined ? '' : ` at offset ${handle.offset}`;
      const short = handle.offset !== undefined && data.byteLength < handle.bytes ? ' (the file ends before the piece does)' : '';
      throw new EddyError(
        'CHECKPOINT_CORRUPT',
        `state file ${path}${where} is corrupt: expected ${handle.bytes} bytes with checksum ${handle.checksum}, ` +
          `actual ${data.byteLength} bytes with checksum ${actual}${short}`,
      );
    }
    return data;
  }

  /** The highest N of any chk-N directory here, complete or not (0 when there is none). */
  async highestId(): Promise<number> {
    return (await this.scan())[0]?.id ?? 0;
  }

  /** Checkpoints with a `_metadata` file, newest first; a corrupt one is returned marked corrupt. */
  async list(): Promise<CheckpointEntry[]> {
    return (await this.scan()).filter((e): e is CheckpointEntry => e.status !== 'incomplete');
  }

  /**
   * The newest complete checkpoint. If the newest one's metadata is corrupt, or `_latest` names
   * a newer checkpoint whose metadata is gone, this throws rather than falling back to an
   * older one: resuming from older state must be the user's decision.
   */
  async latest(): Promise<{ id: number; metadata: CheckpointMetadata } | undefined> {
    const newest = (await this.list())[0];
    const recorded = await this.recordedLatest();
    if (recorded !== undefined && (!newest || recorded > newest.id)) {
      throw new EddyError(
        'CHECKPOINT_CORRUPT',
        `checkpoint ${recorded} completed (${join(this.dir, LATEST)} says so) but its metadata ${join(this.checkpointDir(recorded), METADATA)} is missing`,
      );
    }
    if (!newest) return undefined;
    if (newest.status === 'corrupt') throw newest.error;
    return { id: newest.id, metadata: newest.metadata };
  }

  /**
   * Keeps the newest `retain` complete checkpoints and deletes older ones, corrupt ones older
   * than the oldest kept, and incomplete ones older than the newest complete (they were
   * subsumed and can never complete). Newer incomplete ones may be in progress and stay.
   * Savepoints belong to the user: never deleted, not counted.
   */
  async prune(retain: number): Promise<void> {
    if (!Number.isSafeInteger(retain) || retain < 1) throw fail(`prune must retain at least 1 checkpoint, got ${retain}`);
    const entries = await this.scan();
    const complete = entries.filter((e) => e.status === 'complete');
    if (complete.length === 0) return;
    const newestComplete = complete[0].id;
    const kept = complete.filter((e) => e.metadata.kind !== 'savepoint').slice(0, retain);
    const oldestKept = kept.length > 0 ? kept[kept.length - 1].id : newestComplete;
    const keep = new Set(kept.map((e) => e.id));
    const drops: number[] = [];
    // Incremental checkpoints refer to files in older folders: whatever a checkpoint that
    // stays refers to stays too, even when its folder's own checkpoint goes.
    const needed = new Set<string>();
    for (const e of entries) {
      const drop =
        e.status === 'complete'
          ? e.metadata.kind !== 'savepoint' && !keep.has(e.id) && e.id < oldestKept
          : e.status === 'corrupt'
            ? e.id < oldestKept
            : e.id < newestComplete;
      if (drop) drops.push(e.id);
      else if (e.status === 'complete') for (const h of referencedFiles(e.metadata)) needed.add(normalize(h.file));
    }
    for (const id of drops) await this.removeExcept(id, needed);
  }

  /** Removes checkpoint `id`, except files other checkpoints still refer to. */
  private async removeExcept(id: number, needed: ReadonlySet<string>): Promise<void> {
    const prefix = normalize(`chk-${id}`) + sep;
    const keepHere = [...needed].filter((f) => f.startsWith(prefix));
    if (keepHere.length === 0) return this.remove(id);
    const chkDir = this.checkpointDir(id);
    try {
      await dropMetadata(chkDir);
      const keepNames = new Set(keepHere.map((f) => f.slice(prefix.length)));
      for (const name of await readdir(chkDir)) if (!keepNames.has(name)) await rm(join(chkDir, name), { recursive: true, force: true });
      await syncDir(chkDir);
    } catch (err) {
      throw fail(`pruning checkpoint directory ${chkDir} failed`, err);
    }
  }

  /** Remove the files of a checkpoint that failed (declined / timed out). */
  async discard(id: number): Promise<void> {
    checkId(id);
    await this.remove(id);
  }

  private async remove(id: number): Promise<void> {
    const chkDir = this.checkpointDir(id);
    this.opened.delete(id);
    try {
      await dropMetadata(chkDir);
      await rm(chkDir, { recursive: true, force: true });
      await syncDir(this.dir);
    } catch (err) {
      throw fail(`deleting checkpoint directory ${chkDir} failed`, err);
    }
  }

  /** Every chk-N directory, newest first, incomplete ones included. */
  async scan(): Promise<ScanEntry[]> {
    let names: string[];
    try {
      names = (await readdir(this.dir, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return [];
      throw fail(`listing checkpoint directory ${this.dir} failed`, err);
    }
    const ids = names
      .map((n) => CHK_DIR.exec(n))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]))
      .filter(Number.isSafeInteger)
      .sort((a, b) => b - a);
    const out: ScanEntry[] = [];
    for (const id of ids) out.push(await this.readEntry(id));
    return out;
  }

  private async readEntry(id: number): Promise<ScanEntry> {
    const path = join(this.checkpointDir(id), METADATA);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return { id, status: 'incomplete' };
      throw fail(`reading checkpoint metadata ${path} failed`, err);
    }
    try {
      return { id, status: 'complete', metadata: decodeMetadata(text, path, id) };
    } catch (err) {
      if (err instanceof EddyError) return { id, status: 'corrupt', error: err };
      throw err;
    }
  }
}

/** Writes `dir/_metadata` atomically (temp file, fsync, rename, fsync dir). */
export async function writeMetadataFile(dir: string, metadata: CheckpointMetadata): Promise<void> {
  const path = join(dir, METADATA);
  try {
    await mkdirDurable(dir);
    await replaceDurably(path, encodeMetadata(metadata));
  } catch (err) {
    throw fail(`writing metadata ${path} of ${metadata.kind} ${metadata.id} failed`, err);
  }
}

/**
 * Deleting goes _metadata first, durably: from then on a crash leaves an incomplete
 * checkpoint, never a complete one with files missing.
 */
async function dropMetadata(chkDir: string): Promise<void> {
  const had = await unlink(join(chkDir, METADATA)).then(
    () => true,
    (err) => {
      if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return false;
      throw err;
    },
  );
  if (had) await syncDir(chkDir);
}

/** The `bytes` bytes at `offset` of the file at `path`, or fewer where the file ends before them. */
async function readPiece(path: string, offset: number, bytes: number): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const data = Buffer.allocUnsafe(bytes);
    let got = 0;
    while (got < bytes) {
      const { bytesRead } = await fh.read(data, got, bytes - got, offset + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return data.subarray(0, got);
  } finally {
    await fh.close();
  }
}

/** chk-N being opened (see CheckpointStorage.openCheckpoint): created, then its entry durable. */
interface Opening {
  created: Promise<void>;
  durable: Promise<void>;
}

/** Undefined once `step` has succeeded; else its failure as `describe` puts it. */
function settle(step: Promise<unknown>, describe: (err: unknown) => EddyError): Promise<EddyError | undefined> {
  return step.then(
    () => undefined,
    (err: unknown) => describe(err),
  );
}

const isShared = (parts: readonly Uint8Array[]) => parts.some((p) => p.buffer instanceof SharedArrayBuffer);

const bytesOf = (parts: readonly Uint8Array[]) => parts.reduce((n, p) => n + p.byteLength, 0);

/** Each piece's parts among all of them, and its offset in the file (the pieces one after the other). */
function placed(pieces: readonly PieceData[]): { parts: number; offset: number }[] {
  let at = 0;
  return pieces.map((p) => {
    const offset = at;
    at += bytesOf(p.parts);
    return { parts: p.parts.length, offset };
  });
}
