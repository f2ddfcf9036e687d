/**
 * A text file read as lines by parallel readers over byte ranges.
 *
 * Subtask i of p owns the byte range [floor(i*size/p), floor((i+1)*size/p)). A line belongs
 * to the range that holds its first byte (a line starts at 0 or after a '\n'), so the ranges
 * together yield every line exactly once at any parallelism. A reader's work is a list of
 * such "line starts in [from, to)" intervals: normally one, more after a rescale, when a
 * reader takes over parts of several old ranges.
 */
import { statSync } from 'node:fs';
import { open as openFile, type FileHandle } from 'node:fs/promises';
import type { Collector } from '../../api/functions.js';
import { EddyError } from '../../failure.js';
import type { ConnectorContext, PollStatus, Source, SourceReader } from '../types.js';

const CHUNK = 256 * 1024;
const NL = 0x0a;
const CR = 0x0d;

/** What a text-file reader keeps in a checkpoint. */
export interface TextFileState {
  /** Byte offset of the next line to emit (the first line start at or after it). */
  offset: number;
  /** File size the ranges were computed from; reading stops there even if the file grew. */
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

function notFound(path: string): EddyError {
  return new EddyError('INPUT_NOT_FOUND', `input file '${path}' does not exist; check the path (for example --arg input=...)`);
}

function notAFile(path: string, what: string): EddyError {
  return new EddyError('INPUT_NOT_FOUND', `input '${path}' is ${what}, not a file; give the path of a text file (for example --arg input=...)`);
}

function unreadable(path: string, err: unknown): EddyError {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return notFound(path);
  const cause = err instanceof Error ? err.message : String(err);
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

export function textFile(path: string): Source<string> {
  return {
    kind: 'textFile',
    stateful: true,
    bounded: true,
    validate() {
      let st;
      try {
        st = statSync(path);
      } catch (err) {
        throw unreadable(path, err);
      }
      checkIsFile(path, st);
    },
    createReader(ctx: ConnectorContext) {
      return new TextFileReader(path, ctx.subtaskIndex, ctx.parallelism);
    },
  };
}

function isState(s: unknown): s is TextFileState {
  const t = s as TextFileState;
  return typeof t === 'object' && t !== null && typeof t.size === 'number' && typeof t.parallelism === 'number' && Array.isArray(t.ranges);
}

class TextFileReader implements SourceReader<string> {
  private fh: FileHandle | undefined;
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

  constructor(
    private readonly path: string,
    private readonly index: number,
    private readonly parallelism: number,
  ) {}

  restoreState(state: unknown): void {
    const states = Array.isArray(state) ? state : state == null ? [] : [state];
    if (states.length === 0) {
      this.restored = undefined;
      this.positioned = false;
      return;
    }
    for (const s of states) {
      if (!isState(s)) throw new EddyError('STATE_FAILED', `textFile('${this.path}'): restored source state is malformed: ${JSON.stringify(s)}`);
    }
    const list = states as TextFileState[];
    if (list.some((s) => s.size !== list[0].size)) {
      throw new EddyError('STATE_FAILED', `textFile('${this.path}'): restored source states disagree on the file size`);
    }
    // One subtask's state only covers its own old range; at another parallelism the others'
    // ranges would be lost silently, so that needs all subtasks' states (a union).
    if (!Array.isArray(state) && list[0].parallelism !== this.parallelism) {
      throw new EddyError(
        'UNSUPPORTED',
        `textFile('${this.path}'): cannot restore one reader's offsets taken at parallelism ${list[0].parallelism} into parallelism ${this.parallelism}; rescaling needs the states of all readers`,
      );
    }
    this.restored = list;
    // The ranges come from the size in the state, so the work is known before open().
    this.position(list[0].size);
  }

  async open(): Promise<void> {
    try {
      this.fh = await openFile(this.path, 'r');
    } catch (err) {
      throw unreadable(this.path, err);
    }
    const st = await this.fh.stat();
    try {
      checkIsFile(this.path, st);
    } catch (err) {
      await this.fh.close();
      this.fh = undefined;
      throw err;
    }
    if (!this.restored) this.position(st.size);
  }

  /** Lays out the work: our own range, cut down to what restored states left unread. */
  private position(size: number): void {
    this.size = size;
    const [start, end] = byteRange(this.size, this.index, this.parallelism);
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
    return { offset, size: this.size, parallelism: this.parallelism, ranges };
  }

  poll(out: Collector<string>, max: number): PollStatus | Promise<PollStatus> {
    // Let go of the file as soon as the range is done; snapshots still work without it.
    if (this.finished) return this.fh ? this.close().then(() => 'end' as const) : 'end';
    if (!this.aligned) return this.fill();
    const data = this.data;
    // A line may be emitted only if it starts before `end`.
    const limit = this.end - this.dataPos;
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
            out.collect(utf8Slice.call(data, scan, e));
            scan = data.length;
            n++;
          }
          rangeDone = true;
        }
        break;
      }
      const e = nl > scan && data[nl - 1] === CR ? nl - 1 : nl;
      out.collect(utf8Slice.call(data, scan, e));
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
    const fh = this.fh;
    if (!fh) throw new EddyError('INTERNAL', `textFile('${this.path}'): poll before open or after close`);
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
        ({ bytesRead: got } = await fh.read(this.buf, keep, want, this.readPos));
      } catch (err) {
        const cause = err instanceof Error ? err.message : String(err);
        throw new EddyError('SOURCE_FAILED', `reading input file '${this.path}' at byte ${this.readPos} failed: ${cause}`, { cause });
      }
      if (got === 0) {
        throw new EddyError('SOURCE_FAILED', `input file '${this.path}' became shorter while it was read (expected ${this.size} bytes)`);
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
    const fh = this.fh;
    this.fh = undefined;
    if (fh) await fh.close();
  }
}
