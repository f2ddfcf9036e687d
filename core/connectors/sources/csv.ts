/**
 * A CSV file as records, in the manner of Flink's CSV format (RFC 4180 fields): the text-file
 * source's splits and offsets, each line split into fields and converted by column type.
 *
 * Supported: a separator character (default ','), fields in double quotes holding the
 * separator and doubled quotes (`"a ""b"", c"`), an optional header line (skipped), typed
 * columns. Not supported: a quoted field that spans lines (a record is one line, which keeps
 * the byte-range splitting exact); such a line is invalid and goes to the policy.
 */
import { EddyError } from '../../failure.js';
import type { Source } from '../types.js';
import { checkPolicy, ParsingLineHandler, type InvalidLinePolicy } from './line-parsing.js';
import { lineFileSource, type FileSourceOptions } from './text-file.js';

/** The type of a CSV column: the field's text converted as Flink's CSV format does. */
export type CsvColumnType = 'string' | 'number' | 'integer' | 'boolean';

/** A column of `Sources.csv`: its name in the record and its type (default `'string'`). */
export interface CsvColumn {
  /** The property of the record that gets this field. */
  name: string;
  /** How the field is converted (default 'string'). */
  type?: CsvColumnType;
  /** An empty field becomes null instead of being invalid (number, integer, boolean) or '' (string). */
  nullable?: boolean;
}

/** Options of `Sources.csv`. */
export interface CsvOptions extends FileSourceOptions {
  /** The columns in file order: names (strings) or `{ name, type, nullable }`. */
  columns: ReadonlyArray<string | CsvColumn>;
  /** Field separator, one character (default ','). */
  separator?: string;
  /** The first line of the file is a header and is skipped (default false). */
  header?: boolean;
  /** What to do with a line that does not parse (default `'fail'`). */
  onInvalid?: InvalidLinePolicy;
}

/** Splits one line into fields (RFC 4180 quoting, no line breaks inside quotes). */
export function splitCsvLine(line: string, separator: string): string[] {
  const fields: string[] = [];
  let i = 0;
  const n = line.length;
  for (;;) {
    if (line[i] === '"') {
      let field = '';
      i++;
      for (;;) {
        const q = line.indexOf('"', i);
        if (q === -1) throw new Error(`unterminated quoted field at character ${i}`);
        field += line.slice(i, q);
        if (line[q + 1] === '"') {
          field += '"';
          i = q + 2;
          continue;
        }
        i = q + 1;
        break;
      }
      fields.push(field);
      if (i === n) return fields;
      if (line[i] !== separator) throw new Error(`unexpected character '${line[i]}' after a quoted field at character ${i}`);
      i++;
    } else {
      const s = line.indexOf(separator, i);
      if (s === -1) {
        fields.push(line.slice(i));
        return fields;
      }
      fields.push(line.slice(i, s));
      i = s + 1;
    }
  }
}

function convert(text: string, col: Required<CsvColumn>): unknown {
  if (text === '' && col.nullable) return null;
  switch (col.type) {
    case 'string':
      return text;
    case 'number':
    case 'integer': {
      const t = text.trim();
      const v = t === '' ? NaN : Number(t);
      if (Number.isNaN(v) || (col.type === 'integer' && !Number.isInteger(v)))
        throw new Error(`column '${col.name}': '${text}' is not ${col.type === 'integer' ? 'an integer' : 'a number'}`);
      return v;
    }
    case 'boolean': {
      const t = text.trim().toLowerCase();
      if (t === 'true') return true;
      if (t === 'false') return false;
      throw new Error(`column '${col.name}': '${text}' is not a boolean (true or false)`);
    }
  }
}

function checkColumns(columns: unknown): Required<CsvColumn>[] {
  if (!Array.isArray(columns) || columns.length === 0)
    throw new EddyError('JOB_INVALID', "csv: give the columns, e.g. { columns: ['user', { name: 'ts', type: 'number' }] }");
  return columns.map((c) => {
    const col = typeof c === 'string' ? { name: c } : (c as CsvColumn);
    const type = col?.type ?? 'string';
    if (typeof col?.name !== 'string' || !['string', 'number', 'integer', 'boolean'].includes(type)) {
      throw new EddyError(
        'JOB_INVALID',
        `csv: a column is a name or { name, type: 'string' | 'number' | 'integer' | 'boolean' }, got ${JSON.stringify(c)}`,
      );
    }
    return { name: col.name, type, nullable: col.nullable ?? false };
  });
}

/**
 * Reads a CSV file: one record per non-blank line, an object with a property per column,
 * read in parallel by byte ranges like {@link textFile}, exactly once across failures. A line
 * with another number of fields than columns, or a field that does not convert to its
 * column's type, is invalid and handled by `onInvalid`.
 *
 * @param path the file to read (`.gz`: gzip, see {@link FileSourceOptions.compression}).
 */
export function csv<T = Record<string, unknown>>(path: string, options: CsvOptions): Source<T> {
  const parse = csvLineParser<T>(options);
  const policy = checkPolicy('csv', options.onInvalid);
  return lineFileSource<T>('csv', path, options, (ctx) => new ParsingLineHandler<T>('csv', ctx, policy, parse, options.header === true));
}

/** The parser of one CSV line by the options' columns and separator (throws when invalid). */
export function csvLineParser<T>(options: Pick<CsvOptions, 'columns' | 'separator'>): (text: string) => T {
  const columns = checkColumns(options?.columns);
  const separator = options.separator ?? ',';
  if (separator.length !== 1 || separator === '"')
    throw new EddyError('JOB_INVALID', `csv: separator must be one character other than '"', got ${JSON.stringify(separator)}`);
  return (text: string): T => {
    const fields = splitCsvLine(text, separator);
    if (fields.length !== columns.length)
      throw new Error(`${fields.length} fields, expected ${columns.length} (${columns.map((c) => c.name).join(', ')})`);
    const record: Record<string, unknown> = {};
    for (let i = 0; i < columns.length; i++) record[columns[i].name] = convert(fields[i], columns[i]);
    return record as T;
  };
}
