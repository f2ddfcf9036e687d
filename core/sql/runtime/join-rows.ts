/**
 * The rows of one append-only side of a regular join, kept per join key as list-state elements
 * that each hold a chunk of the rows, encoded (Flink keeps a join side serialized in its state
 * backend too). A row is encoded once. Until the job's first checkpoint it is encoded only when
 * the state is written out (a backend that stores bytes, LMDB, takes the put; a barrier captures
 * the key), so a job without checkpoints on heap state encodes nothing; after it, each row is
 * encoded as it comes (see `eager`). A checkpoint copies bytes instead of encoding every row of
 * every key anew.
 *
 *   list state value = [bytes, bytes, …]       a chunk per element (an older savepoint: one, or the rows themselves)
 *   bytes = version ‖ columns (uint16 BE) ‖ row ‖ row ‖ …
 *   row   = one msgpack array of the side's columns in the planner's order
 *
 * Live, the last element is a {@link SideRows} chunk that grows in place until it is written out
 * (msgpackr writes it as its bytes: an extension without a type of its own, so the snapshot
 * holds a plain byte string), which seals it: the next row starts a new chunk, appended to the
 * list. So an incremental heap snapshot holds only the chunks appended since its base, not the
 * key's every row again (the list state's append-only delta, ../../state/change-log.ts). A
 * restore reads Uint8Arrays, decoded together on the first read of their key.
 */
import { addExtension, Packr, Unpackr } from 'msgpackr';
import type { AppendableList } from '../../state/keyed-state.js';
import { EddyError } from '../../failure.js';
import type { Row } from './changelog.js';

/** First byte of the bytes: their format. */
const FORMAT_VERSION = 1;
/** Bytes before the first row: the version and the column count. */
const HEADER_BYTES = 3;
/** Smallest buffer allocated for a chunk's rows. */
const MIN_CAPACITY = 256;

const packr = new Packr({ useRecords: false, useBigIntExtension: true });
const unpackr = new Unpackr({ useRecords: false, useBigIntExtension: true });

/** One chunk of a key's rows: `all[from, from + count)`, the first `encoded` of them also as bytes. */
class SideRows {
  /** Header and encoded rows in `buf[0, len)`. */
  private buf: Uint8Array | undefined;
  private len = 0;
  private encoded = 0;
  count = 0;
  /** Written out (a snapshot or a write-back holds its bytes): no row is added to it any more. */
  sealed = false;

  constructor(
    private readonly side: EncodedRows,
    /** Every row of the key, this chunk's and the older chunks' (shared by its chunks). */
    readonly all: Row[],
    private readonly from: number,
  ) {}

  push(row: Row): void {
    this.all.push(row);
    this.count++;
  }

  /** The bytes of the chunk's rows, encoding those not encoded yet; seals it. */
  bytes(): Uint8Array {
    this.encodeRest();
    this.sealed = true;
    return this.buf!.subarray(0, this.len);
  }

  /** Encodes the rows not encoded yet. */
  encodeRest(): void {
    const all = this.all;
    for (let i = this.encoded; i < this.count; i++) this.append(this.side.encode(all[this.from + i]!));
    this.encoded = this.count;
  }

  private append(enc: Uint8Array): void {
    const need = (this.buf === undefined ? HEADER_BYTES : this.len) + enc.length;
    if (this.buf === undefined || this.buf.length < need) {
      const grown = new Uint8Array(Math.max(MIN_CAPACITY, 2 * need));
      if (this.buf === undefined) this.len = this.side.header(grown);
      else grown.set(this.buf.subarray(0, this.len), 0);
      this.buf = grown;
    }
    this.buf.set(enc, this.len);
    this.len += enc.length;
  }
}

// A SideRows element is written as its bytes (no extension type: the same bytes as a Uint8Array).
addExtension({ Class: SideRows, write: (v: SideRows) => v.bytes() });

/** Where the last stored byte array of a key (a restored value) carries the decoded rows of all of them. */
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
  get(state: AppendableList<unknown>): readonly Row[] {
    const list = state.get();
    if (list.length === 0) return EMPTY;
    const last = list[list.length - 1];
    if (last instanceof SideRows) return last.all;
    return last instanceof Uint8Array ? this.restored(list) : (list as Row[]);
  }

  /** Adds `row` to the current key's rows. */
  add(state: AppendableList<unknown>, row: Row): void {
    const list = state.get();
    const last = list[list.length - 1];
    if (last instanceof SideRows && !last.sealed) {
      last.push(row);
      if (this.eager) last.encodeRest();
      // Told, not put: the list only grew at its end (a write-behind cache marks it dirty).
      state.changedLast();
      return;
    }
    if (last !== undefined && !(last instanceof SideRows) && !(last instanceof Uint8Array)) {
      // An older savepoint's rows (objects): replaced by one chunk of them.
      const chunk = new SideRows(this, [], 0);
      for (const r of list as Row[]) chunk.push(r);
      chunk.push(row);
      state.update([chunk]);
      return;
    }
    // None yet, or the last chunk was written out (or restored): a new chunk, appended.
    const all = last === undefined ? [] : last instanceof SideRows ? last.all : this.restored(list);
    const chunk = new SideRows(this, all, all.length);
    chunk.push(row);
    if (this.eager) chunk.encodeRest();
    state.add(chunk);
  }

  /** From now on rows are encoded as they come (the job takes checkpoints: called at a barrier). */
  checkpointing(): void {
    this.eager = true;
  }

  /** Replaces the current key's rows with `rows` (none: cleared). */
  replace(state: AppendableList<unknown>, rows: readonly Row[]): void {
    if (rows.length === 0) return state.clear();
    const chunk = new SideRows(this, [], 0);
    for (const r of rows) chunk.push(r);
    state.update([chunk]);
  }

  /** How many rows a stored value holds (for tests reading checkpoints). */
  static count(value: readonly unknown[]): number {
    let n = 0;
    for (const e of value) {
      if (e instanceof SideRows) n += e.count;
      else if (e instanceof Uint8Array) n += unpackr.unpackMultiple(e.subarray(HEADER_BYTES)).length;
      else return value.length;
    }
    return n;
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

  /** A restored value's rows (of all its chunks), decoded on their first read. */
  private restored(list: readonly unknown[]): Row[] {
    const last = list[list.length - 1] as Stored;
    const cached = last[ROWS];
    if (cached !== undefined) return cached;
    let rows = this.decode(list[0] as Uint8Array);
    if (list.length > 1) {
      rows = rows.slice();
      for (let i = 1; i < list.length; i++) for (const r of this.decode(list[i] as Uint8Array)) rows.push(r);
    }
    return (last[ROWS] = rows);
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
