/**
 * Reads a regular join side's rows as checkpoints and savepoints before plain rows stored them:
 * per join key, list-state elements that each hold a chunk of encoded rows (one element before
 * list deltas, one per checkpoint after). The join now keeps an append-only side's rows as plain
 * list elements, one a row (an incremental snapshot encodes only the appended ones, in bulk), and
 * turns such a value into rows on the key's first read (regular-join.ts).
 *
 *   list state value = [bytes, bytes, …]
 *   bytes = version ‖ columns (uint16 BE) ‖ row ‖ row ‖ …
 *   row   = one msgpack array of the side's columns in the planner's order
 */
import { Unpackr } from 'msgpackr';
import type { ListState } from '../../contract/state.js';
import { EddyError } from '../../failure.js';
import type { Row } from './changelog.js';

/** First byte of the bytes: their format. */
const FORMAT_VERSION = 1;
/** Bytes before the first row: the version and the column count. */
const HEADER_BYTES = 3;

const unpackr = new Unpackr({ useRecords: false, useBigIntExtension: true });

/** Whether a join side's stored list holds encoded rows (an older checkpoint) rather than rows. */
export function holdsEncodedRows(list: readonly unknown[]): boolean {
  return list.length > 0 && list[list.length - 1] instanceof Uint8Array;
}

/** How many rows a stored list value holds, encoded or not (for tests reading checkpoints). */
export function storedRowCount(value: readonly unknown[]): number {
  if (!holdsEncodedRows(value)) return value.length;
  let n = 0;
  for (const e of value) n += unpackr.unpackMultiple((e as Uint8Array).subarray(HEADER_BYTES)).length;
  return n;
}

/**
 * The current key's rows of a join side kept as a list: the list itself, or, if it holds
 * encoded rows (an older checkpoint), those rows decoded by `older` and written back as rows.
 * `what` names the side in a failure.
 */
export function joinSideRows(state: ListState<unknown>, older: OlderJoinRows | undefined, what: string): readonly Row[] {
  const list = state.get();
  if (!holdsEncodedRows(list)) return list as Row[];
  if (older === undefined) {
    throw new EddyError(
      'STATE_FAILED',
      `${what}: the rows are stored encoded but the plan names no columns to decode them; restore the savepoint into the query it was taken from, or start without it`,
    );
  }
  const rows = older.decode(list, what);
  state.update(rows);
  return rows;
}

/** Decodes one side's encoded rows, checking they were written for this side's columns. */
export class OlderJoinRows {
  constructor(
    /** The side's columns, in the order rows were encoded. */
    private readonly columns: readonly string[],
  ) {}

  /** The rows of a stored value whose elements are encoded chunks, in order; `what` names the side in a failure. */
  decode(list: readonly unknown[], what: string): Row[] {
    const rows: Row[] = [];
    for (const chunk of list) this.decodeChunk(chunk as Uint8Array, rows, what);
    return rows;
  }

  private decodeChunk(bytes: Uint8Array, into: Row[], what: string): void {
    const columns = (bytes[1]! << 8) | bytes[2]!;
    if (bytes[0] !== FORMAT_VERSION || columns !== this.columns.length) {
      throw new EddyError(
        'STATE_FAILED',
        `${what}: the stored rows are of another form (format ${bytes[0]}, ${columns} columns; this query's: format ${FORMAT_VERSION}, ${this.columns.length} columns); restore the savepoint into the query it was taken from, or start without it`,
      );
    }
    for (const a of unpackr.unpackMultiple(bytes.subarray(HEADER_BYTES)) as unknown[][]) {
      const row: Row = {};
      for (let i = 0; i < this.columns.length; i++) row[this.columns[i]!] = a[i];
      into.push(row);
    }
  }
}
