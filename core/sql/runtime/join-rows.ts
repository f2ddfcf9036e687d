/**
 * The rows of one append-only side of a regular join, kept per join key as one list-state
 * element holding the rows as they came and, behind them, their encoded bytes (Flink keeps a
 * join side serialized in its state backend too). A row is encoded once. Until the job's first
 * checkpoint it is encoded only when the state is written out (a backend that stores bytes, LMDB,
 * takes the put; a barrier captures the key), so a job without checkpoints on heap state encodes
 * nothing; after it, each row is encoded as it comes (see `eager`). A checkpoint copies bytes
 * instead of encoding every row of every key anew (which was most of what a join of wide
 * append-only rows, Nexmark q4 and q9, paid for checkpoints).
 *
 *   list state value = [bytes]                 one element (an older savepoint: the rows themselves)
 *   bytes = version ‖ columns (uint16 BE) ‖ row ‖ row ‖ …
 *   row   = one msgpack array of the side's columns in the planner's order
 *
 * Live, the element is a {@link SideRows}; msgpackr writes it as its bytes (an extension
 * without a type of its own: the snapshot holds a plain byte string, as before), so a restore
 * reads a Uint8Array, decoded on the first read of its key. Appends write past the end of a
 * buffer this module allocated, which no bytes already written out cover.
 */
import { addExtension, Packr, Unpackr } from 'msgpackr';
import type { ListState } from '../../contract/state.js';
import { EddyError } from '../../failure.js';
import type { Row } from './changelog.js';

/** First byte of the bytes: their format. */
const FORMAT_VERSION = 1;
/** Bytes before the first row: the version and the column count. */
const HEADER_BYTES = 3;
/** Smallest buffer allocated for a key's rows. */
const MIN_CAPACITY = 256;

const packr = new Packr({ useRecords: false, useBigIntExtension: true });
const unpackr = new Unpackr({ useRecords: false, useBigIntExtension: true });

/** One key's rows: all of them as objects, the first `encoded` of them also as bytes. */
class SideRows {
  /** Header and encoded rows in `buf[0, len)`; `owned`: this module allocated `buf` (appends may go past `len`). */
  private buf: Uint8Array | undefined;
  private len = 0;
  private owned = false;
  private encoded = 0;

  constructor(
    private readonly side: EncodedRows,
    readonly rows: Row[],
    /** The bytes of all of `rows` (a restored value), if known. */
    bytes?: Uint8Array,
  ) {
    if (bytes !== undefined) {
      this.buf = bytes;
      this.len = bytes.length;
      this.encoded = rows.length;
    }
  }

  /** The bytes of every row, encoding those not encoded yet (a view whose bytes never change: appends go past its end). */
  bytes(): Uint8Array {
    this.encodeRest();
    if (this.buf === undefined) this.append(EMPTY_BYTES);
    return this.buf!.subarray(0, this.len);
  }

  /** Encodes the rows not encoded yet. */
  encodeRest(): void {
    const rows = this.rows;
    for (let i = this.encoded; i < rows.length; i++) this.append(this.side.encode(rows[i]!));
    this.encoded = rows.length;
  }

  private append(enc: Uint8Array): void {
    const need = (this.buf === undefined ? HEADER_BYTES : this.len) + enc.length;
    if (!this.owned || this.buf!.length < need) {
      const grown = new Uint8Array(Math.max(MIN_CAPACITY, 2 * need));
      if (this.buf === undefined) this.len = this.side.header(grown);
      else grown.set(this.buf.subarray(0, this.len), 0);
      this.buf = grown;
      this.owned = true;
    }
    this.buf!.set(enc, this.len);
    this.len += enc.length;
  }
}

const EMPTY_BYTES = new Uint8Array(0);

// A SideRows element is written as its bytes (no extension type: the same bytes as a Uint8Array).
addExtension({ Class: SideRows, write: (v: SideRows) => v.bytes() });

/** Where a stored byte array (a restored value) carries its decoded rows. */
const ROWS = Symbol('eddy.joinRows');
type Stored = Uint8Array & { [ROWS]?: Row[] };

/** One side's rows, stored encoded: read, append, replace, for the key the state is scoped to. */
export class EncodedRows {
  private readonly values: unknown[];
  /**
   * Encode each row as it comes: set once the job takes checkpoints. Encoding them all when a
   * barrier captures their keys costs the same in total but holds the barrier up (q9 exactly-once,
   * paired runs on a busy machine: 7 % more CPU than encoding on arrival); without checkpoints
   * rows are never encoded on heap state.
   */
  private eager = false;

  constructor(
    /** The side's columns, in the order rows are encoded. */
    private readonly columns: readonly string[],
    /** Names the side in a failure: the join's uid and the state name. */
    private readonly what: string,
  ) {
    if (columns.length > 0xffff) throw new EddyError('JOB_INVALID', `${what}: more than 65535 columns`);
    this.values = new Array(columns.length);
  }

  /** The current key's rows (do not change the array). */
  get(state: ListState<unknown>): readonly Row[] {
    const list = state.get();
    if (list.length === 0) return EMPTY;
    const first = list[0];
    if (first instanceof SideRows) return first.rows;
    return first instanceof Uint8Array ? this.restored(first) : (list as Row[]);
  }

  /** Adds `row` to the current key's rows. */
  add(state: ListState<unknown>, row: Row): void {
    const list = state.get();
    const first = list[0];
    if (first instanceof SideRows) {
      first.rows.push(row);
      if (this.eager) first.encodeRest();
      // Put back: a backend tracks what changed (and a write-behind cache what to write) by puts.
      state.update(list);
      return;
    }
    // None yet, a restored key's bytes, or an older savepoint's rows (objects).
    const entry =
      first instanceof Uint8Array ? new SideRows(this, this.restored(first).slice(), first) : new SideRows(this, (list as Row[]).slice());
    entry.rows.push(row);
    state.update([entry]);
  }

  /** From now on rows are encoded as they come (the job takes checkpoints: called at a barrier). */
  checkpointing(): void {
    this.eager = true;
  }

  /** Replaces the current key's rows with `rows` (none: cleared). */
  replace(state: ListState<unknown>, rows: readonly Row[]): void {
    if (rows.length === 0) state.clear();
    else state.update([new SideRows(this, rows.slice())]);
  }

  /** How many rows a stored value holds (for tests reading checkpoints). */
  static count(value: readonly unknown[]): number {
    const first = value[0];
    if (first instanceof SideRows) return first.rows.length;
    if (!(first instanceof Uint8Array)) return value.length;
    return unpackr.unpackMultiple(first.subarray(HEADER_BYTES)).length;
  }

  /** One row's bytes (a view msgpackr reuses: copy it before the next encode). */
  encode(row: Row): Uint8Array {
    const v = this.values;
    for (let i = 0; i < v.length; i++) v[i] = row[this.columns[i]!];
    return packr.pack(v);
  }

  /** Writes the header at the start of `buf`; its length. */
  header(buf: Uint8Array): number {
    buf[0] = FORMAT_VERSION;
    buf[1] = this.columns.length >>> 8;
    buf[2] = this.columns.length & 0xff;
    return HEADER_BYTES;
  }

  /** A restored value's rows, decoded on its first read. */
  private restored(bytes: Stored): Row[] {
    return (bytes[ROWS] ??= this.decode(bytes));
  }

  private decode(bytes: Uint8Array): Row[] {
    const columns = (bytes[1]! << 8) | bytes[2]!;
    if (bytes[0] !== FORMAT_VERSION || columns !== this.columns.length) {
      throw new EddyError(
        'STATE_FAILED',
        `${this.what}: the stored rows are of another form (format ${bytes[0]}, ${columns} columns; this query's: format ${FORMAT_VERSION}, ${this.columns.length} columns); restore the savepoint into the query it was taken from, or start without it`,
      );
    }
    const arrays = unpackr.unpackMultiple(bytes.subarray(HEADER_BYTES)) as unknown[][];
    return arrays.map((a) => {
      const row: Row = {};
      for (let i = 0; i < this.columns.length; i++) row[this.columns[i]!] = a[i];
      return row;
    });
  }
}

const EMPTY: readonly Row[] = [];
