/**
 * A two-phase-commit sink writing JSON lines into part files.
 *
 * A part file lives through three names, only the last of which is visible:
 *   .part-<subtask>-<runId>-<seq>.jsonl.inprogress   being written
 *   .part-<subtask>-<runId>-<seq>.jsonl.pending      sealed (rolled or at a barrier), durable
 *                                                    once its checkpoint's prepareCommit ends
 *   part-<subtask>-<runId>-<seq>.jsonl               committed: its checkpoint completed
 * runId is random per writer, so names never collide across restarts or processes.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { open, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { EddyError, messageOf } from '../../failure.js';
import type { ConnectorContext, Sink, SinkWriter } from '../types.js';

export interface JsonLinesFileOptions {
  /** Start a new part file once the current one has this many bytes. Default 64 MiB. */
  rollBytes?: number;
}

/** One sealed part file, as kept in a checkpoint (absolute paths). */
export interface PartFileHandle {
  pending: string;
  final: string;
}

/** Default size at which a part file is rolled. */
export const DEFAULT_ROLL_BYTES = 64 * 1024 * 1024;
/** Buffered characters before they go to the file; keeps write() to a string append. */
const FLUSH_CHARS = 1024 * 1024;

/** Creates an output directory, or fails with one line naming it. */
export function makeDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw new EddyError(
      'OUTPUT_FAILED',
      `cannot create output directory '${dir}': ${messageOf(err)}; check the path (for example --arg output=...)`,
      {
        cause: messageOf(err),
      },
    );
  }
}

/** Makes renames in the directory durable. */
async function fsyncDir(dir: string): Promise<void> {
  let fh;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // Some platforms and file systems cannot fsync a directory; there is nothing more to do.
    if (code !== 'EISDIR' && code !== 'EINVAL' && code !== 'EPERM' && code !== 'EBADF') {
      throw new EddyError('SINK_FAILED', `cannot sync output directory '${dir}': ${messageOf(err)}`, { cause: messageOf(err) });
    }
  } finally {
    await fh?.close();
  }
}

async function fsyncFile(path: string): Promise<void> {
  const fh = await open(path, 'r+');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

function isHandle(h: unknown): h is PartFileHandle {
  return (
    typeof h === 'object' &&
    h !== null &&
    typeof (h as PartFileHandle).pending === 'string' &&
    typeof (h as PartFileHandle).final === 'string'
  );
}

/** Handles as the runtime passes them back: what prepareCommit returned, per checkpoint. */
function flattenHandles(handles: unknown[], into: PartFileHandle[] = []): PartFileHandle[] {
  for (const h of handles) {
    if (h == null) continue;
    if (Array.isArray(h)) flattenHandles(h, into);
    else if (isHandle(h)) into.push(h);
    else throw new EddyError('SINK_FAILED', `jsonLinesFile: malformed commit handle ${JSON.stringify(h)}`);
  }
  return into;
}

/**
 * Writes records as JSON lines into part files in `dir`, two-phase commit (Flink's `FileSink`):
 * files stay hidden (dot-prefixed) until the checkpoint that covers them completes, so the
 * visible output of an exactly-once job is that of a fault-free run. Without checkpointing the
 * files appear when the bounded job finishes.
 */
export function jsonLinesFile<T>(dir: string, opts: JsonLinesFileOptions = {}): Sink<T> {
  const rollBytes = opts.rollBytes ?? DEFAULT_ROLL_BYTES;
  if (!(rollBytes > 0)) throw new EddyError('JOB_INVALID', `jsonLinesFile: rollBytes must be a positive number of bytes, got ${rollBytes}`);
  return {
    kind: 'jsonLinesFile',
    stateful: true,
    validate() {
      makeDir(dir);
    },
    createWriter(ctx: ConnectorContext) {
      return new JsonLinesWriter<T>(resolve(dir), ctx.subtaskIndex, rollBytes);
    },
  };
}

/**
 * The writer of `jsonLinesFile`. `committedName`, when given, names a part file's committed
 * form by the checkpoint that seals it (-1: the end of a job without checkpoints), for readers
 * that must replay files in commit order (the SQL upsert sink).
 */
export class JsonLinesWriter<T> implements SinkWriter<T> {
  private readonly runId = randomBytes(4).toString('hex');
  private seq = 0;
  private buffer = '';
  /** The in-progress part file (fd < 0: none open). */
  private fd = -1;
  private current: PartFileHandle & { inprogress: string } = { inprogress: '', pending: '', final: '' };
  private fileBytes = 0;
  /** Rolled part files not yet handed to a checkpoint. */
  private sealed: PartFileHandle[] = [];
  /** Handed to a checkpoint, not yet committed (finish commits them all). */
  private prepared = new Map<string, PartFileHandle>();

  constructor(
    private readonly dir: string,
    private readonly subtask: number,
    private readonly rollBytes: number,
    private readonly committedName?: (checkpointId: number, base: string) => string,
  ) {}

  open(): void {
    makeDir(this.dir);
  }

  write(value: T): void {
    let line: string | undefined;
    try {
      line = JSON.stringify(value);
    } catch (err) {
      throw new EddyError('MALFORMED_RECORD', `jsonLinesFile cannot write a record as JSON: ${messageOf(err)}`, { cause: messageOf(err) });
    }
    if (line === undefined) {
      throw new EddyError('MALFORMED_RECORD', `jsonLinesFile cannot write ${typeof value} as JSON (undefined, a function or a symbol)`);
    }
    this.buffer += line + '\n';
    // Characters undercount bytes, so a part file may exceed rollBytes a little.
    if (this.buffer.length >= FLUSH_CHARS || this.fileBytes + this.buffer.length >= this.rollBytes) this.spill();
  }

  /** Writes the buffer to the in-progress file, rolling it once it is big enough. */
  private spill(): void {
    if (this.buffer.length === 0) return;
    if (this.fd < 0) this.openPart();
    const bytes = Buffer.from(this.buffer, 'utf8');
    this.buffer = '';
    try {
      for (let off = 0; off < bytes.length;) off += writeSync(this.fd, bytes, off, bytes.length - off);
    } catch (err) {
      throw new EddyError('SINK_FAILED', `writing part file '${this.current.inprogress}' failed: ${messageOf(err)}`, {
        cause: messageOf(err),
      });
    }
    this.fileBytes += bytes.length;
    if (this.fileBytes >= this.rollBytes) {
      const h = this.sealPart();
      if (h) this.sealed.push(h);
    }
  }

  private openPart(): void {
    const base = `part-${this.subtask}-${this.runId}-${this.seq++}.jsonl`;
    const inprogress = join(this.dir, `.${base}.inprogress`);
    try {
      this.fd = openSync(inprogress, 'wx');
    } catch (err) {
      throw new EddyError('SINK_FAILED', `cannot create part file '${inprogress}': ${messageOf(err)}`, { cause: messageOf(err) });
    }
    this.current = { inprogress, pending: join(this.dir, `.${base}.pending`), final: join(this.dir, base) };
    this.fileBytes = 0;
  }

  /**
   * Closes the in-progress file and renames it to pending. It is fsync'd later, in
   * prepareCommit, off the record path (fsync through another descriptor flushes the file).
   */
  private sealPart(): PartFileHandle | undefined {
    if (this.fd < 0) return undefined;
    const { inprogress, pending, final } = this.current;
    try {
      closeSync(this.fd);
      this.fd = -1;
      if (this.fileBytes === 0) {
        unlinkSync(inprogress);
        return undefined;
      }
      renameSync(inprogress, pending);
    } catch (err) {
      throw new EddyError('SINK_FAILED', `cannot seal part file '${inprogress}': ${messageOf(err)}`, { cause: messageOf(err) });
    }
    return { pending, final };
  }

  async prepareCommit(checkpointId: number): Promise<PartFileHandle[]> {
    // Everything up to here is sealed synchronously, so records written while this awaits
    // go to a new part file of the next checkpoint.
    this.spill();
    const last = this.sealPart();
    const handles = this.sealed;
    this.sealed = [];
    if (last) handles.push(last);
    if (handles.length === 0) return handles;
    if (this.committedName) for (const h of handles) h.final = join(this.dir, this.committedName(checkpointId, basename(h.final)));
    for (const h of handles) this.prepared.set(h.pending, h);
    try {
      for (const h of handles) await fsyncFile(h.pending);
    } catch (err) {
      throw new EddyError('SINK_FAILED', `cannot sync part files in '${this.dir}': ${messageOf(err)}`, { cause: messageOf(err) });
    }
    await fsyncDir(this.dir);
    return handles;
  }

  async commit(handles: unknown[]): Promise<void> {
    const list = flattenHandles(handles);
    let renamed = 0;
    for (const h of list) {
      try {
        await rename(h.pending, h.final);
        renamed++;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
          throw new EddyError('SINK_FAILED', `cannot commit part file '${h.pending}': ${messageOf(err)}`, { cause: messageOf(err) });
        }
        // Pending is gone: fine if an earlier commit already made it visible.
        const committed = await stat(h.final).then(
          () => true,
          () => false,
        );
        if (!committed) {
          throw new EddyError(
            'SINK_FAILED',
            `cannot commit part file '${h.final}': neither it nor its pending file '${h.pending}' exists (was the output directory changed or cleaned?)`,
          );
        }
      }
      this.prepared.delete(h.pending);
    }
    const dirs = new Set(list.map((h) => dirname(h.final)));
    if (renamed > 0) for (const d of dirs) await fsyncDir(d);
  }

  async finish(): Promise<void> {
    await this.prepareCommit(-1);
    await this.commit([...this.prepared.values()]);
  }

  async abort(): Promise<void> {
    this.buffer = '';
    const doomed = this.sealed.map((h) => h.pending);
    this.sealed = [];
    if (this.fd >= 0) {
      try {
        closeSync(this.fd);
      } catch {
        // Already unusable; the file is removed below either way.
      }
      this.fd = -1;
      doomed.push(this.current.inprogress);
    }
    // Pending files handed to a checkpoint stay: that checkpoint may still complete.
    for (const p of doomed) await unlink(p).catch(() => undefined);
  }

  close(): void {
    if (this.fd >= 0) {
      closeSync(this.fd);
      this.fd = -1;
    }
  }
}
