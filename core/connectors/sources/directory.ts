/**
 * A directory watched for new files, each read once as text, JSON lines or CSV (Flink's
 * FileSource with `monitorContinuously`).
 *
 * A file is taken only when complete. The rule: names starting with '.' or '_' and names
 * ending in '.tmp', '.partial' or '.inprogress' are never read, so a writer writes under such a
 * name and renames the file into place when it is done (rename is atomic). A file is read
 * whole once it is seen under its final name; a file that still grows is read up to the size
 * it had when its reading started.
 *
 * Subtask i of p reads the files whose name hashes to i (mod p), one at a time in name order.
 * Its checkpointed state: the names it has finished, and the file it is reading with that
 * file's reader state (offsets, as the text-file source keeps them). Files found after the
 * checkpoint are found again after a restore. The set of finished names grows with the number
 * of files (one string per file).
 */
import { readdirSync, statSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Collector } from '../../contract/functions.js';
import { EddyError, messageOf } from '../../failure.js';
import type { ConnectorContext, PollStatus, Source, SourceReader, SplitPosition } from '../types.js';
import { type CsvOptions, csvLineParser } from './csv.js';
import { checkPolicy, ParsingLineHandler, type InvalidLinePolicy } from './line-parsing.js';
import { LineFileReader, usesGzip, type Compression, type LineHandler, type TextFileState } from './text-file.js';

/** How the files of a directory source are read. */
export type DirectoryFormat = 'text' | 'jsonLines' | 'csv';

/** Options of `Sources.directory`. */
export interface DirectoryOptions {
  /** How each file is read: lines as strings, JSON lines, or CSV (then `csv` gives the columns). */
  format: DirectoryFormat;
  /** The CSV options (columns, separator, header) when `format` is 'csv'. */
  csv?: Omit<CsvOptions, 'onInvalid' | 'compression'>;
  /** Only file names matching this (a RegExp, or a glob with `*` and `?` such as '*.jsonl'). */
  pattern?: RegExp | string;
  /** How often to look for new files, in ms (default 1000). */
  pollMs?: number;
  /** Stop once a look finds no unread file, instead of watching forever (default false). */
  bounded?: boolean;
  /** For jsonLines and csv: what to do with a line that does not parse (default 'fail'). */
  onInvalid?: InvalidLinePolicy;
  /** 'auto' (default): files ending in `.gz` are gzip. */
  compression?: Compression;
}

/** What a directory reader keeps in a checkpoint. */
export interface DirectoryState {
  /** Names of the files this subtask has read to the end. */
  finished: string[];
  /**
   * Files started and not finished, with their readers' offsets: the file being read, and
   * after a rescale those restored from other subtasks that are not reopened yet.
   */
  reading: Array<{ name: string; state: TextFileState }>;
  /** The line handler's counts. */
  handler?: unknown;
}

const IN_PROGRESS = /^[._]|\.(tmp|partial|inprogress)$/;

function globToRegExp(glob: string): RegExp {
  const body = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

/** A stable hash of a file name (FNV-1a), to give each file to one subtask. */
function nameHash(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * Watches `dir` and reads every file that appears in it once, exactly once across failures,
 * as lines (`format: 'text'`), JSON lines or CSV. Unbounded unless `bounded: true`.
 * See the module comment for when a file counts as complete (write it under a dot-name or
 * `.tmp`, then rename it).
 *
 * @param dir the directory to watch (not its subdirectories).
 */
export function directory<T = unknown>(dir: string, options: DirectoryOptions): Source<T> {
  const format = options?.format;
  if (format !== 'text' && format !== 'jsonLines' && format !== 'csv') {
    throw new EddyError('JOB_INVALID', `directory: format must be 'text', 'jsonLines' or 'csv', got ${JSON.stringify(format)}`);
  }
  const pollMs = options.pollMs ?? 1000;
  if (!(pollMs > 0)) throw new EddyError('JOB_INVALID', `directory: pollMs must be a positive number of ms, got ${pollMs}`);
  const pattern = typeof options.pattern === 'string' ? globToRegExp(options.pattern) : options.pattern;
  const policy = checkPolicy('directory', options.onInvalid);
  const parse =
    format === 'csv'
      ? csvLineParser({ ...options.csv!, columns: options.csv?.columns ?? [] })
      : format === 'jsonLines'
        ? (t: string) => JSON.parse(t)
        : undefined;
  return {
    kind: 'directory',
    stateful: true,
    bounded: options.bounded === true,
    validate() {
      let st;
      try {
        st = statSync(dir);
      } catch {
        throw new EddyError('INPUT_NOT_FOUND', `input directory '${dir}' does not exist; create it or check the path`);
      }
      if (!st.isDirectory())
        throw new EddyError('INPUT_NOT_FOUND', `input '${dir}' is not a directory; Sources.directory watches a directory`);
      readdirSync(dir);
    },
    createReader(ctx: ConnectorContext) {
      const handler: LineHandler<unknown> = parse
        ? new ParsingLineHandler(format, ctx, policy, parse, format === 'csv' && options.csv?.header === true)
        : { line: (text, _at, out) => out.collect(text) };
      return new DirectoryReader<T>(
        dir,
        ctx,
        { pattern, pollMs, bounded: options.bounded === true, compression: options.compression ?? 'auto' },
        handler as LineHandler<T>,
      );
    },
  };
}

class DirectoryReader<T> implements SourceReader<T> {
  readonly idleMs: number;
  private finished = new Set<string>();
  /** Files known and not started, in name order. */
  private queue: string[] = [];
  private current: { name: string; reader: LineFileReader<T> } | undefined;
  /** Restored offsets of files another subtask was reading (after a rescale), or our own. */
  private resume = new Map<string, TextFileState>();
  private lastScan = -Infinity;
  /** Lines of every file go to the one handler; per file it must not snapshot or report. */
  private readonly fileHandler: LineHandler<T>;

  constructor(
    private readonly dir: string,
    private readonly ctx: ConnectorContext,
    private readonly opts: { pattern: RegExp | undefined; pollMs: number; bounded: boolean; compression: Compression },
    private readonly handler: LineHandler<T>,
  ) {
    this.idleMs = opts.pollMs;
    this.fileHandler = { open: () => handler.open?.(), line: (text, at, out) => handler.line(text, at, out) };
  }

  private mine(name: string): boolean {
    return nameHash(name) % this.ctx.parallelism === this.ctx.subtaskIndex;
  }

  restoreState(state: unknown): void {
    const states = (Array.isArray(state) ? state : state == null ? [] : [state]) as DirectoryState[];
    for (const s of states) {
      if (!Array.isArray(s?.finished) || !Array.isArray(s.reading))
        throw new EddyError('STATE_FAILED', `directory('${this.dir}'): restored source state is malformed`);
      // After a rescale a file finished by any old subtask is finished.
      for (const n of s.finished) this.finished.add(n);
      for (const r of s.reading) if (this.mine(r.name)) this.resume.set(r.name, r.state);
    }
    this.handler.restore?.(
      states.map((s) => s.handler),
      !Array.isArray(state),
    );
  }

  open(): void {
    this.handler.open?.();
  }

  currentOrigin(): SplitPosition | undefined {
    return this.current?.reader.currentOrigin();
  }

  snapshotState(): DirectoryState {
    const s: DirectoryState = { finished: [...this.finished], reading: [] };
    if (this.current) s.reading.push({ name: this.current.name, state: this.current.reader.snapshotState()! });
    // Restored positions not reopened yet stay in the checkpoint.
    for (const [name, state] of this.resume) s.reading.push({ name, state });
    if (this.handler.snapshot) s.handler = this.handler.snapshot();
    return s;
  }

  private async scan(): Promise<void> {
    this.lastScan = performance.now();
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      throw new EddyError('SOURCE_FAILED', `cannot list input directory '${this.dir}': ${messageOf(err)}`);
    }
    const queued = new Set(this.queue);
    const fresh = names.filter(
      (n) =>
        !IN_PROGRESS.test(n) &&
        (!this.opts.pattern || this.opts.pattern.test(n)) &&
        this.mine(n) &&
        !this.finished.has(n) &&
        !queued.has(n) &&
        n !== this.current?.name,
    );
    if (fresh.length === 0) return;
    // Files being resumed first, then the rest in name order.
    this.queue.push(...fresh);
    this.queue.sort((a, b) => Number(this.resume.has(b)) - Number(this.resume.has(a)) || (a < b ? -1 : a > b ? 1 : 0));
  }

  async poll(out: Collector<T>, max: number): Promise<PollStatus> {
    if (!this.current) {
      if (this.queue.length === 0) {
        if (performance.now() - this.lastScan < this.opts.pollMs) return 'idle';
        await this.scan();
        if (this.queue.length === 0) {
          if (this.opts.bounded && this.resume.size === 0) {
            this.handler.done?.();
            return 'end';
          }
          return 'idle';
        }
      }
      const name = this.queue.shift()!;
      const path = join(this.dir, name);
      const reader = new LineFileReader<T>(path, usesGzip(name, this.opts.compression), 0, 1, this.fileHandler);
      const restored = this.resume.get(name);
      if (restored) reader.restoreState(restored);
      this.resume.delete(name);
      try {
        await reader.open();
      } catch (err) {
        // A file that went away between listing and opening was never ours to read.
        if ((err as EddyError).code === 'INPUT_NOT_FOUND' && !statOk(path)) return 'more';
        throw err;
      }
      this.current = { name, reader };
    }
    const r = await this.current.reader.poll(out, max);
    if (r === 'end') {
      this.finished.add(this.current.name);
      await this.current.reader.close();
      this.current = undefined;
    }
    return 'more';
  }

  async close(): Promise<void> {
    await this.current?.reader.close();
    this.current = undefined;
    this.handler.done?.();
  }
}

function statOk(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}
