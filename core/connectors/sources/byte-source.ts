/**
 * Where a line reader's bytes come from: a plain file read at any position, or a gzip file
 * whose uncompressed bytes can only be produced in order. Positions are always offsets in
 * the uncompressed bytes, so checkpoints mean the same for both: a gzip source restored at
 * offset N decompresses again from the start and skips N bytes (a .gz file cannot be split).
 */
import { createReadStream, readSync } from 'node:fs';
import { open as openFile, type FileHandle } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import { EddyError, messageOf } from '../../failure.js';

export interface ByteSource {
  /** Size in bytes; Infinity while a compressed stream has not been read to its end. */
  readonly size: number;
  /** Reads up to `length` bytes at `position` into buf[offset...]; 0 only at the end. */
  read(buf: Buffer, offset: number, length: number, position: number): Promise<number>;
  /**
   * Number of '\n' bytes before `position`, for line numbers in error messages (a rare path,
   * so synchronous). A gzip source answers only for the end of its last read.
   */
  newlinesBefore(position: number): number;
  close(): Promise<void>;
}

/** '\\n' bytes in buf[from, to). */
export function countNewlines(buf: Buffer, from: number, to: number): number {
  let n = 0;
  for (let i = buf.indexOf(0x0a, from); i !== -1 && i < to; i = buf.indexOf(0x0a, i + 1)) n++;
  return n;
}

/** True for paths read as gzip unless the source's `compression` option says otherwise. */
export function isGzipPath(path: string): boolean {
  return path.endsWith('.gz');
}

export class PlainFileBytes implements ByteSource {
  /** newlinesBefore's memory: `counted` newlines lie before byte `countedTo`. */
  private countedTo = 0;
  private counted = 0;

  private constructor(
    private readonly fh: FileHandle,
    readonly size: number,
  ) {}

  newlinesBefore(position: number): number {
    if (position < this.countedTo) {
      this.countedTo = 0;
      this.counted = 0;
    }
    const buf = Buffer.allocUnsafe(64 * 1024);
    while (this.countedTo < position) {
      const got = readSync(this.fh.fd, buf, 0, Math.min(buf.length, position - this.countedTo), this.countedTo);
      if (got === 0) break;
      this.counted += countNewlines(buf, 0, got);
      this.countedTo += got;
    }
    return this.counted;
  }

  static async open(path: string): Promise<PlainFileBytes> {
    const fh = await openFile(path, 'r');
    try {
      const st = await fh.stat();
      if (!st.isFile()) throw Object.assign(new Error(st.isDirectory() ? 'is a directory' : 'is not a regular file'), { code: 'ENOTFILE' });
      return new PlainFileBytes(fh, st.size);
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  async read(buf: Buffer, offset: number, length: number, position: number): Promise<number> {
    return (await this.fh.read(buf, offset, length, position)).bytesRead;
  }

  close(): Promise<void> {
    return this.fh.close();
  }
}

/**
 * The uncompressed bytes of a gzip file (concatenated members included), read forward. A read
 * before the current position starts the decompression over; one after it skips ahead.
 */
export class GzipFileBytes implements ByteSource {
  size = Infinity;
  private chunks: AsyncIterator<Buffer> | undefined;
  private stream: (NodeJS.ReadableStream & { destroy(): void }) | undefined;
  /** Uncompressed bytes [pos, pos + pending.length) are decompressed and not yet handed out. */
  private pending: Buffer = Buffer.alloc(0);
  private pos = 0;
  /** '\n' bytes in the uncompressed bytes before pos. */
  private newlines = 0;

  constructor(private readonly path: string) {}

  newlinesBefore(position: number): number {
    if (position !== this.pos)
      throw new EddyError('INTERNAL', `gzip input '${this.path}': line count asked at ${position}, the stream is at ${this.pos}`);
    return this.newlines;
  }

  /** Decompresses the first bytes, so a missing or non-gzip file fails at open. */
  async start(): Promise<void> {
    this.restart();
    await this.more();
  }

  private restart(): void {
    this.stream?.destroy();
    const gunzip = createReadStream(this.path)
      .on('error', (err) => gunzip.destroy(err))
      .pipe(createGunzip());
    this.stream = gunzip;
    this.chunks = gunzip[Symbol.asyncIterator]();
    this.pending = Buffer.alloc(0);
    this.pos = 0;
    this.newlines = 0;
  }

  /** Hands out (or skips) the first n pending bytes. */
  private take(n: number): void {
    this.newlines += countNewlines(this.pending, 0, n);
    this.pending = this.pending.subarray(n);
    this.pos += n;
  }

  /** Makes `pending` non-empty; false at the end of the stream. */
  private async more(): Promise<boolean> {
    if (!this.chunks) this.restart();
    while (this.pending.length === 0) {
      const r = await this.chunks!.next();
      if (r.done) {
        this.size = this.pos;
        return false;
      }
      this.pending = r.value;
    }
    return true;
  }

  async read(buf: Buffer, offset: number, length: number, position: number): Promise<number> {
    if (position < this.pos || !this.chunks) this.restart();
    while (this.pos < position) {
      if (!(await this.more())) return 0;
      this.take(Math.min(this.pending.length, position - this.pos));
    }
    let got = 0;
    while (got < length) {
      if (!(await this.more())) break;
      const n = Math.min(this.pending.length, length - got);
      this.pending.copy(buf, offset + got, 0, n);
      this.take(n);
      got += n;
      // Hand out what is decompressed; do not wait for more to fill the whole request.
      if (this.pending.length === 0) break;
    }
    return got;
  }

  async close(): Promise<void> {
    this.stream?.destroy();
    this.stream = undefined;
    this.chunks = undefined;
  }
}

/** Opens a file's bytes, plain or gzip; a missing or unreadable file is a clear EddyError. */
export async function openBytes(path: string, gzip: boolean): Promise<ByteSource> {
  if (!gzip) return PlainFileBytes.open(path);
  const bytes = new GzipFileBytes(path);
  try {
    await bytes.start();
  } catch (err) {
    await bytes.close();
    const code = (err as NodeJS.ErrnoException)?.code;
    if (code === 'ENOENT' || code === 'EISDIR' || code === 'EACCES') throw err;
    throw corruptInput(path, err);
  }
  return bytes;
}

export function corruptInput(path: string, err: unknown): EddyError {
  const cause = messageOf(err);
  return new EddyError(
    'SOURCE_FAILED',
    `cannot decompress input file '${path}': ${cause}; check that it is a gzip file (or pass compression: 'none')`,
    { cause },
  );
}
