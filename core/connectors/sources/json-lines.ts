/**
 * A JSON-lines file (one JSON value per line) as records: the text-file source's splits and
 * offsets, each line given to JSON.parse, lines that do not parse handled by the policy.
 */
import type { Source } from '../types.js';
import { checkPolicy, ParsingLineHandler, type InvalidLinePolicy } from './line-parsing.js';
import { lineFileSource, type FileSourceOptions } from './text-file.js';

/** Options of `Sources.jsonLines`. */
export interface JsonLinesOptions extends FileSourceOptions {
  /** What to do with a line that is not valid JSON (default `'fail'`). */
  onInvalid?: InvalidLinePolicy;
}

/**
 * Reads a file of JSON lines: one record per non-blank line (`JSON.parse`), read in parallel
 * by byte ranges like {@link textFile}, exactly once across failures. Blank lines are ignored.
 *
 * @param path the file to read (`.gz`: gzip, see {@link FileSourceOptions.compression}).
 * @param options `onInvalid`: `'fail'` (default), `'skip'`, or an `OutputTag<InvalidLine>`
 *   whose side output gets each line that does not parse.
 */
export function jsonLines<T = unknown>(path: string, options: JsonLinesOptions = {}): Source<T> {
  const policy = checkPolicy('jsonLines', options.onInvalid);
  return lineFileSource<T>(
    'jsonLines',
    path,
    options,
    (ctx) => new ParsingLineHandler<T>('jsonLines', ctx, policy, (text) => JSON.parse(text) as T),
  );
}
