/**
 * An upsert sink of JSON lines: a changelog written as a log of upserts and deletes by primary
 * key, committed by the engine's two-phase commit like `Sinks.jsonLinesFile`; and the reader
 * that materializes the table from the committed files.
 */
import type { ChangeRow, Row } from './changelog.js';
import type { UpsertSink } from './sink-modes.js';

/** Options of {@link upsertJsonLinesFile}. */
export interface UpsertJsonLinesOptions {
  /** The primary key columns: a change replaces (or deletes) the row with the same key. */
  key: string[];
  /** Start a new part file once the current one has this many bytes. Default 64 MiB. */
  rollBytes?: number;
}

/** One committed line: +I/+U upsert `row` under `key`, -D delete `key`. */
export interface UpsertLine {
  kind: '+I' | '+U' | '-D';
  key: unknown[];
  row: Row;
}

/**
 * A two-phase-commit sink writing a changelog into `dir` as JSON lines of {@link UpsertLine}
 * (-U is dropped: the +U after it overwrites the key). Committed files are named by the
 * checkpoint that committed them, so {@link readUpsertJsonLines} can replay them in order.
 * Use it behind `sinkChangelog` so that each key's changes reach one subtask in order.
 */
export function upsertJsonLinesFile(dir: string, opts: UpsertJsonLinesOptions): UpsertSink {
  void dir;
  void opts;
  throw new Error('todo');
}

/**
 * The table the committed files of an {@link upsertJsonLinesFile} sink in `dir` describe:
 * every line applied in commit order, one row per live key (in no particular order).
 */
export function readUpsertJsonLines(dir: string): Row[] {
  void dir;
  throw new Error('todo');
}
