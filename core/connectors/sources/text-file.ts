/**
 * A text file read as lines by parallel readers over byte ranges.
 *
 * Subtask i of p owns the byte range [floor(i*size/p), floor((i+1)*size/p)). A line belongs
 * to the range that holds its first byte (a line starts at 0 or after a '\n'), so the ranges
 * together yield every line exactly once at any parallelism. A reader's work is a list of
 * such "line starts in [from, to)" intervals: normally one, more after a rescale, when a
 * reader takes over parts of several old ranges.
 *
 * A gzip file (`.gz`, or `compression: 'gzip'`) is one split: offsets are positions in the
 * uncompressed bytes, the source runs at parallelism 1, and a restore decompresses again and
 * skips to the checkpointed offset (see byte-source.ts).
 *
 * The reader only finds lines; what becomes of a line is its LineHandler's business: the
 * text source emits it as it is, the JSON-lines and CSV sources parse it (line-parsing.ts).
 */
import { statSync } from 'node:fs';
import type { Collector } from '../../contract/functions.js';
import { EddyError, messageOf } from '../../failure.js';
import type { ConnectorContext, PollStatus, Source, SourceReader, SplitPosition } from '../types.js';
import { countNewlines, isGzipPath, openBytes, type ByteSource } from './byte-source.js';

const CHUNK = 256 * 1024;
const NL = 0x0a;
const CR = 0x0d;

/** What a text-file reader keeps in a checkpoint. */
export interface TextFileState {
  /** Byte offset of the next line to emit (the first line start at or after it). */
  offset: number;
  /**
   * File size the ranges were computed from; reading stops there even if the file grew.
   * -1 for a gzip file whose uncompressed size was not known yet.
   */
  size: number;
  /** Parallelism the state was taken at. */
  parallelism: number;
  /** Remaining work: lines whose first byte is in [from, to), in reading order. */
  ranges: Array<[number, number]>;
}

// utf8Slice skips toString's argument juggling; it is what toString calls underneath.
type Slicer = (this: Buffer, start: number, end: number) => string;
const utf8Slice: Slicer =
  (Buffer.prototype as unknown as { utf8Slice?: Slicer }).utf8Slice ??
  function (this: Buffer, start: number, end: number) {
    return this.toString('utf8', start, end);
  };

/** How the bytes of an input file are stored. */
export type Compression = 'auto' | 'gzip' | 'none';

/** Options every line-oriented file source takes. */
export interface FileSourceOptions {
  /**
   * 'auto' (the default): gzip when the path ends in `.gz`; 'gzip' or 'none' to say so. A gzip
   * file is read by one subtask (it cannot be split); offsets count uncompressed bytes.
   */
  compression?: Compression;
}

export function usesGzip(path: string, compression: Compression = 'auto'): boolean {
  return compression === 'gzip' || (compression === 'auto' && isGzipPath(path));
}

/** Where a line sits in its file, for messages and dead letters. */
export interface LinePosition {
  readonly file: string;
  /** Byte offset of the line's first byte (in the uncompressed bytes of a gzip file). */
  readonly offset: number;
  /** 1-based line number; counted on demand (it costs a read of the file before the line). */
  lineNumber(): number;
}

/**
 * What becomes of each line a reader finds: emitted as it is, parsed, skipped, dead-lettered.
 * Called once per line in file order; `at` is valid only during the call.
 */
export interface LineHandler<T> {
  open?(): void;
  line(text: string, at: LinePosition, out: Collector<T>): void;
  /** State kept next to the offsets (e.g. counts), and given back on restore. */
  snapshot?(): unknown;
  restore?(states: unknown[], sameSubtask: boolean): void;
  /** The reader read its last line (a bounded source ended) or is closing. */
  done?(): void;
}

const plainLines: LineHandler<string> = {
  line(text, _at, out) {
    out.collect(text);
  },
};

function notFound(path: string): EddyError {
  return new EddyError('INPUT_NOT_FOUND', `input file '${path}' does not exist; check the path (for example --arg input=...)`);
}

function notAFile(path: string, what: string): EddyError {
  return new EddyError(
    'INPUT_NOT_FOUND',
    `input '${path}' is ${what}, not a file; give the path of a text file (for example --arg input=...)`,
  );
}

function unreadable(path: string, err: unknown): EddyError {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return notFound(path);
  const cause = messageOf(err);
  return new EddyError('INPUT_NOT_FOUND', `cannot read input file '${path}': ${cause}`, { cause });
}

function checkIsFile(path: string, st: { isFile(): boolean; isDirectory(): boolean }): void {
  if (st.isDirectory()) throw notAFile(path, 'a directory');
  if (!st.isFile()) throw notAFile(path, 'not a regular file');
}

/** The byte range [start, end) of subtask i of p. */
export function byteRange(size: number, index: number, parallelism: number): [number, number] {
  return [Math.floor((index * size) / parallelism), Math.floor(((index + 1) * size) / parallelism)];
}

/**
 * The lines of a text file, without their line endings ('\n' or '\r\n'), read in parallel
 * by byte ranges; each line exactly once across failures (the offsets are checkpointed).
 * Gzip files are read too (see {@link FileSourceOptions.compression}).
 *
 * @param path the file to read.
 */
export function textFile(path: string, options: FileSourceOptions = {}): Source<string> {
  return lineFileSource('textFile', path, options, () => plainLines);
}

/** Checks on the main thread that `path` is a readable file (a clear error otherwise). */
export function validateFile(path: string): void {
  let st;
  try {
    st = statSync(path);
  } catch (err) {
    throw unreadable(path, err);
  }
  checkIsFile(path, st);
}

/** A source whose readers find the lines of `path` and give each to a handler of `makeHandler`. */
export function lineFileSource<T>(
  kind: string,
  path: string,
  options: FileSourceOptions,
  makeHandler: (ctx: ConnectorContext) => LineHandler<T>,
): Source<T> {
  const gzip = usesGzip(path, options.compression);
  return {
    kind,
    stateful: true,
    bounded: true,
    ...(gzip ? { maxParallelism: 1 } : {}),
    validate() {
      validateFile(path);
    },
    createReader(ctx: ConnectorContext) {
      return new LineFileReader<T>(path, gzip, ctx.subtaskIndex, ctx.parallelism, makeHandler(ctx));
    },
  };
}

/** A line reader's checkpointed state: the offsets, and the handler's own state (counts). */
interface ReaderState extends TextFileState {
  handler?: unknown;
}

function isState(s: unknown): s is ReaderState {
  const t = s as TextFileState;
  return typeof t === 'object' && t !== null && typeof t.size === 'number' && typeof t.parallelism === 'number' && Array.isArray(t.ranges);
}

export class LineFileReader<T> implements SourceReader<T>, LinePosition {
  private bytes: ByteSource | undefined;
  private restored: TextFileState[] | undefined;
  private size = 0;
  /** Intervals not started yet; the current one is [from, end). */
  private queue: Array<[number, number]> = [];
  private end = 0;
  private finished = false;
  private positioned = false;

  private buf = Buffer.allocUnsafe(CHUNK);
  /** buf[0, data.length) holds file bytes [dataPos, dataPos + data.length). */
  private data: Buffer = this.buf.subarray(0, 0);
  private dataPos = 0;
  /** Index in data of the next line start (once aligned). */
  private scan = 0;
  /** Next file position to read. */
  private readPos = 0;
  private eof = false;
  /**
   * False until the first line start of the current interval is found: the reader then
   * skips to just past the first '\n' at or after `from - 1`.
   */
  private aligned = false;
  /** The current interval's start, while not yet aligned. */
  private from = 0;

  /** LinePosition of the line being handled: its first byte. */
  offset = 0;

  constructor(
    readonly file: string,
    private readonly gzip: boolean,
    private readonly index: number,
    private readonly parallelism: number,
    private readonly handler: LineHandler<T>,
  ) {}

  /** 1-based number of the line at `offset` (the one being handled). */
  lineNumber(): number {
    // The bytes before readPos are counted by the byte source; those from the line on are in the buffer.
    const bytes = this.bytes!;
    const at = this.offset - this.dataPos;
    return 1 + bytes.newlinesBefore(this.readPos) - countNewlines(this.data, at, this.data.length);
  }

  /** The line being handled: the file, its byte offset and its line number. */
  currentOrigin(): SplitPosition | undefined {
    if (this.bytes === undefined) return undefined;
    let line: number | undefined;
    try {
      line = this.lineNumber();
    } catch {
      // The offset alone still names the line.
    }
    return { split: this.file, offset: this.offset, line };
  }

  restoreState(state: unknown): void {
    const states = Array.isArray(state) ? state : state == null ? [] : [state];
    if (states.length === 0) {
      this.restored = undefined;
      this.positioned = false;
      return;
    }
    for (const s of states) {
      if (!isState(s))
        throw new EddyError('STATE_FAILED', `textFile('${this.file}'): restored source state is malformed: ${JSON.stringify(s)}`);
    }
    const list = states as TextFileState[];
    if (list.some((s) => s.size !== list[0].size)) {
      throw new EddyError('STATE_FAILED', `textFile('${this.file}'): restored source states disagree on the file size`);
    }
    // One subtask's state only covers its own old range; at another parallelism the others'
    // ranges would be lost silently, so that needs all subtasks' states (a union).
    if (!Array.isArray(state) && list[0].parallelism !== this.parallelism) {
      throw new EddyError(
        'UNSUPPORTED',
        `textFile('${this.file}'): cannot restore one reader's offsets taken at parallelism ${list[0].parallelism} into parallelism ${this.parallelism}; rescaling needs the states of all readers`,
      );
    }
    this.restored = list;
    this.handler.restore?.(
      (list as ReaderState[]).map((s) => s.handler),
      !Array.isArray(state),
    );
    // The ranges come from the size in the state, so the work is known before open().
    this.position(list[0].size < 0 ? Infinity : list[0].size);
  }

  async open(): Promise<void> {
    try {
      this.bytes = await openBytes(this.file, this.gzip);
    } catch (err) {
      if ((err as NodeJS.ErrnoException)?.code === 'ENOTFILE') throw notAFile(this.file, (err as Error).message.replace(/^is /, ''));
      if (err instanceof EddyError) throw err;
      throw unreadable(this.file, err);
    }
    this.handler.open?.();
    if (!this.restored) this.position(this.bytes.size);
  }

  /** Lays out the work: our own range, cut down to what restored states left unread. */
  private position(size: number): void {
    this.size = size;
    // A gzip file of unknown size is one split (its source runs at parallelism 1).
    const [start, end] = size === Infinity ? [0, Infinity] : byteRange(this.size, this.index, this.parallelism);
    let ranges: Array<[number, number]> = [[start, end]];
    if (this.restored) {
      ranges = [];
      for (const s of this.restored) {
        for (const [a, b] of s.ranges) {
          const from = Math.max(a, start);
          const to = Math.min(b, end);
          if (from < to) ranges.push([from, to]);
        }
      }
      ranges.sort((x, y) => x[0] - y[0]);
    }
    this.queue = ranges.filter(([a, b]) => a < b);
    this.positioned = true;
    this.finished = false;
    this.nextInterval();
  }

  private nextInterval(): void {
    const next = this.queue.shift();
    if (!next) {
      this.finished = true;
      return;
    }
    const [from, to] = next;
    this.from = from;
    this.end = to;
    this.aligned = from === 0;
    // One byte back: if it is a '\n', `from` itself is a line start.
    this.readPos = from === 0 ? 0 : from - 1;
    this.dataPos = this.readPos;
    this.data = this.buf.subarray(0, 0);
    this.scan = 0;
    this.eof = this.readPos >= this.size;
  }

  snapshotState(): TextFileState | undefined {
    if (!this.positioned) return undefined;
    const ranges: Array<[number, number]> = [];
    if (!this.finished) {
      const offset = this.aligned ? this.dataPos + this.scan : this.from;
      if (offset < this.end) ranges.push([offset, this.end]);
    }
    for (const r of this.queue) ranges.push([r[0], r[1]]);
    const offset = ranges.length > 0 ? ranges[0][0] : this.end;
    const size = this.size === Infinity ? -1 : this.size;
    const state: ReaderState = { offset, size, parallelism: this.parallelism, ranges };
    if (this.handler.snapshot) state.handler = this.handler.snapshot();
    return state;
  }

  poll(out: Collector<T>, max: number): PollStatus | Promise<PollStatus> {
    // Let go of the file as soon as the range is done; snapshots still work without it.
    if (this.finished) return this.bytes ? this.close().then(() => 'end' as const) : 'end';
    if (!this.aligned) return this.fill();
    const data = this.data;
    // A line may be emitted only if it starts before `end`.
    const limit = this.end - this.dataPos;
    const handler = this.handler;
    let scan = this.scan;
    let n = 0;
    let rangeDone = false;
    while (n < max) {
      if (scan >= limit) {
        rangeDone = true;
        break;
      }
      const nl = data.indexOf(NL, scan);
      if (nl === -1) {
        if (this.eof) {
          // The last line has no '\n'.
          if (scan < data.length) {
            let e = data.length;
            if (data[e - 1] === CR) e--;
            this.offset = this.dataPos + scan;
            handler.line(utf8Slice.call(data, scan, e), this, out);
            scan = data.length;
            n++;
          }
          rangeDone = true;
        }
        break;
      }
      const e = nl > scan && data[nl - 1] === CR ? nl - 1 : nl;
      this.offset = this.dataPos + scan;
      handler.line(utf8Slice.call(data, scan, e), this, out);
      scan = nl + 1;
      n++;
    }
    this.scan = scan;
    if (rangeDone) this.nextInterval();
    if (n > 0) return 'more';
    if (this.finished) return 'end';
    if (rangeDone) return 'more';
    return this.fill();
  }

  /** Reads the next chunk behind the unfinished line at the end of the buffer. */
  private async fill(): Promise<PollStatus> {
    const bytes = this.bytes;
    if (!bytes) throw new EddyError('INTERNAL', `textFile('${this.file}'): poll before open or after close`);
    const keep = this.aligned ? this.data.length - this.scan : 0;
    if (keep > 0 && this.scan > 0) this.buf.copyWithin(0, this.scan, this.data.length);
    // A very long line: grow so that each read still brings a useful amount.
    if (keep > this.buf.length / 2) {
      const bigger = Buffer.allocUnsafe(this.buf.length * 2);
      this.buf.copy(bigger, 0, 0, keep);
      this.buf = bigger;
    }
    this.dataPos = this.readPos - keep;
    const want = Math.min(this.buf.length - keep, this.size - this.readPos);
    let got = 0;
    if (want > 0) {
      try {
        got = await bytes.read(this.buf, keep, want, this.readPos);
      } catch (err) {
        const cause = messageOf(err);
        throw new EddyError('SOURCE_FAILED', `reading input file '${this.file}' at byte ${this.readPos} failed: ${cause}`, { cause });
      }
      if (got === 0) {
        // A compressed stream tells its size only at its end.
        if (this.size !== Infinity)
          throw new EddyError('SOURCE_FAILED', `input file '${this.file}' became shorter while it was read (expected ${this.size} bytes)`);
        this.size = this.readPos;
        if (this.end === Infinity) this.end = this.size;
      }
    }
    this.readPos += got;
    this.eof = this.readPos >= this.size;
    this.data = this.buf.subarray(0, keep + got);
    this.scan = 0;
    if (!this.aligned) this.align();
    if (this.finished) await this.close();
    return this.finished ? 'end' : 'more';
  }

  /** Finds the first line start in [from, end): just past the first '\n' at or after from-1. */
  private align(): void {
    // The '\n' must sit before end-1 for the line after it to start before end.
    const limit = this.end - 1 - this.dataPos;
    const nl = this.data.indexOf(NL);
    if (nl !== -1) {
      if (nl < limit) {
        this.aligned = true;
        this.scan = nl + 1;
      } else {
        this.nextInterval();
      }
      return;
    }
    if (this.eof || this.data.length >= limit) this.nextInterval();
    // Otherwise the bytes seen hold no line start; the next fill drops them (keep = 0).
  }

  async close(): Promise<void> {
    const bytes = this.bytes;
    this.bytes = undefined;
    if (bytes) {
      await bytes.close();
      this.handler.done?.();
    }
  }
}
