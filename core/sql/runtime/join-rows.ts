/**
 * The rows of one append-only side of a regular join, kept per join key as their encoded bytes
 * with the decoded rows beside them (Flink keeps a join side serialized in its state backend
 * too). A checkpoint copies the bytes of every key; before, it encoded every row anew at every
 * checkpoint, which was most of what a join of wide append-only rows (Nexmark q4, q9) paid for
 * checkpoints. Each row is encoded once, when it arrives.
 *
 *   list state value = [bytes]                 one element (an older savepoint: the rows themselves)
 *   bytes = version ‖ columns (uint16 BE) ‖ row ‖ row ‖ …
 *   row   = one msgpack array of the side's columns in the planner's order
 *
 * The decoded rows hang on the stored byte array itself (a symbol property msgpack does not
 * see; a WeakMap of one entry per append cost more in GC than it saved), so a restored
 * checkpoint (new byte arrays) is decoded on the first read of each key and never mixes with
 * rows of before the restore. Appends write past the end of a buffer this module allocated, which no
 * earlier view covers: a snapshot already captured, or a write-behind cache holding an earlier
 * view, sees the bytes it was given.
 */
import { Packr, Unpackr } from 'msgpackr';
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

/** A key's rows as decoded, and the buffer this module owns behind the stored view (none after a restore). */
interface Cached {
  rows: Row[];
  owned: Uint8Array | undefined;
  /** The stored view the rows are those of: an earlier view of the key holds fewer (one object per key, moved along). */
  view: Uint8Array | undefined;
}

/** One side's rows, stored encoded: read, append, replace, for the key the state is scoped to. */
/** Where a stored byte array carries its decoded rows. */
const ROWS = Symbol('eddy.joinRows');
type Stored = Uint8Array & { [ROWS]?: Cached };

export class EncodedRows {
  private readonly values: unknown[];

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
    return first instanceof Uint8Array ? this.cached(first).rows : (list as Row[]);
  }

  /** Adds `row` to the current key's rows. */
  add(state: ListState<unknown>, row: Row): void {
    const list = state.get();
    const first = list[0];
    const bytes = first instanceof Uint8Array ? first : undefined;
    // An older savepoint's rows (objects), or none yet: encoded into a new buffer.
    const entry: Cached = bytes === undefined ? { rows: (list as Row[]).slice(), owned: undefined, view: undefined } : this.cached(bytes);
    const enc = this.encode(row);
    const len = bytes === undefined ? 0 : bytes.length;
    let owned = entry.owned;
    if (owned === undefined || owned.length - len < enc.length) {
      const prior = bytes ?? this.encodeAll(entry.rows);
      owned = new Uint8Array(Math.max(MIN_CAPACITY, 2 * (prior.length + enc.length)));
      owned.set(prior, 0);
      entry.owned = owned;
      owned.set(enc, prior.length);
      this.store(state, entry, owned.subarray(0, prior.length + enc.length), row);
      return;
    }
    owned.set(enc, len);
    this.store(state, entry, owned.subarray(0, len + enc.length), row);
  }

  /** Replaces the current key's rows with `rows` (none: cleared). */
  replace(state: ListState<unknown>, rows: readonly Row[]): void {
    if (rows.length === 0) {
      state.clear();
      return;
    }
    const owned = this.encodeAll(rows);
    (owned as Stored)[ROWS] = { rows: rows.slice(), owned, view: owned };
    state.update([owned]);
  }

  /** How many rows a stored value holds (for tests reading checkpoints). */
  static count(value: readonly unknown[]): number {
    const first = value[0];
    if (!(first instanceof Uint8Array)) return value.length;
    return unpackr.unpackMultiple(first.subarray(HEADER_BYTES)).length;
  }

  private store(state: ListState<unknown>, entry: Cached, view: Uint8Array, row: Row): void {
    entry.rows.push(row);
    entry.view = view;
    (view as Stored)[ROWS] = entry;
    state.update([view]);
  }

  private cached(bytes: Stored): Cached {
    let entry = bytes[ROWS];
    // An earlier view back in state (never today: restores decode new bytes) is read from its bytes.
    if (entry === undefined || entry.view !== bytes) {
      entry = { rows: this.decode(bytes), owned: undefined, view: bytes };
      bytes[ROWS] = entry;
    }
    return entry;
  }

  /** One row's bytes (a view msgpackr reuses: copy it before the next encode). */
  private encode(row: Row): Uint8Array {
    const v = this.values;
    for (let i = 0; i < v.length; i++) v[i] = row[this.columns[i]!];
    return packr.pack(v);
  }

  /** Header and rows in a buffer of their exact size. */
  private encodeAll(rows: readonly Row[]): Uint8Array {
    const parts = rows.map((r) => this.encode(r).slice());
    const out = new Uint8Array(HEADER_BYTES + parts.reduce((n, p) => n + p.length, 0));
    out[0] = FORMAT_VERSION;
    out[1] = this.columns.length >>> 8;
    out[2] = this.columns.length & 0xff;
    let at = HEADER_BYTES;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
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
