/**
 * Top-N per partition: `ROW_NUMBER() OVER (PARTITION BY … ORDER BY …) AS rn … WHERE rn <= N`
 * (Flink's rank functions, which Flink runs record by record under a KeyedProcessOperator and
 * never mini-batched: `table.exec.mini-batch.*` reaches its deduplicate and aggregate operators
 * only; a Top-1 ordered by a time attribute is such a deduplication).
 *
 * State per partition, one value: its rows sorted by ORDER BY (equal ones in arrival order).
 * Over an insert-only input only the top n are kept (a row below them can never rise); over a
 * changelog every row is kept, since a retraction in the top n lets the next row in.
 *
 * - {@link topN}: a changelog input (Flink's RetractableTopNFunction): each change compares the
 *   top n before and after and emits the difference.
 * - {@link appendOnlyTopN}: plain rows, every one an insert (Flink's AppendOnlyTopNFunction): no
 *   `{ kind, row }` per record to build, send and read; a row that sorts after the n-th is
 *   dropped after one comparison, and one that enters shifts the ranks after it. With n = 1 it
 *   is Flink's FastTop1Function: the partition's one row is replaced, and -U/+U emitted, only
 *   by a row that sorts strictly before it. A Top-1 by one time attribute is Flink's
 *   deduplication, the one case mini-batch reaches (`miniBatch`).
 *
 * All keep the same state, so a savepoint restores into any of them.
 */
import type { DataStream } from '../../api/datastream.js';
import type { Collector, RuntimeContext } from '../../contract/functions.js';
import type { StateOptions } from '../../contract/state.js';
import { EddyError } from '../../failure.js';
import { keyedBundleOperator, type BundleFunction, type BundleTrigger } from '../../operators/keyed-bundle.js';
import { isRetract, type ChangeRow, type Row } from './changelog.js';
import { keyForKeyBy, rowId, ttlOptions } from './keys.js';

/** One ORDER BY item. */
export interface SortField {
  /** The sort value of a row. */
  value: (row: Row) => unknown;
  /** DESC. Default ascending. */
  desc?: boolean;
  /** Where nulls go. Default as Flink: first when ascending, last when descending. */
  nulls?: 'first' | 'last';
}

/** Options of {@link topN}. */
export interface TopNOptions {
  /** The PARTITION BY key of a row (a string, number or an array of them); a constant for none. */
  partitionBy: (row: Row) => unknown;
  /** ORDER BY; rows that compare equal are ranked in arrival order. */
  orderBy: SortField[];
  /** Rows kept per partition: `rn <= n`. */
  n: number;
  /** When set, the output row has the row number in this column (each rank is a row, re-ranked rows are updated); without it the output is the set of top rows. */
  rowNumberColumn?: string;
  /** True when the input has only +I: only the top n rows per partition are kept in state. */
  insertOnlyInput?: boolean;
  /** Idle-state TTL of a partition. */
  ttlMs?: number;
  /**
   * The input is already partitioned by `partitionBy` as keyBy would partition it (rows a join
   * on the same key emitted): the Top-N keys it in place, with no exchange, and chains onto it.
   */
  partitioned?: boolean;
  /**
   * Mini-batch, for a Top-1 over an append-only input that Flink plans as a deduplication (ORDER
   * BY one time attribute: StreamExecDeduplicate, which takes `table.exec.mini-batch.*`; its rank
   * operators never do): a bundle keeps each partition's best row, and its end emits the net
   * change once. Ignored for any other Top-N.
   */
  miniBatch?: BundleTrigger;
  /** uid of the Top-N operator. */
  uid: string;
  /** The ORDER BY as one comparator (the planner generates it); default: built from `orderBy`. */
  compare?: (a: Row, b: Row) => number;
  /** Whether two rows are equal by value (a rank whose row is equal is not updated); default: by {@link rowId}. */
  sameRow?: (a: Row, b: Row) => boolean;
  /**
   * The output row of `row` at rank `rank` (the planner folds the select list over the rank into
   * it); default: the row itself, or with `rowNumberColumn` a copy with the rank added.
   */
  output?: (row: Row, rank: number) => Row;
}

/** The state's name: the partition's rows, sorted. */
const ROWS = 'rows';

/**
 * The top `n` rows of each partition by `orderBy`, as a changelog of that set: a row entering
 * emits +I, a row leaving -D; with `rowNumberColumn`, every rank whose row changed emits -U of
 * the old and +U of the new (+I / -D for a rank that appears or disappears).
 */
export function topN(input: DataStream<ChangeRow>, opts: TopNOptions): DataStream<ChangeRow> {
  checkOptions(opts);
  const { n, partitionBy } = opts;
  const compare = opts.compare ?? comparatorOf(opts.orderBy);
  const stateOpts = ttlOptions(opts.ttlMs);
  const insertOnly = opts.insertOnlyInput === true;
  const emit = emitterOf(opts);

  /** Applies one change with one state read and one write, and emits the difference between the top n before and after. */
  const update = (change: ChangeRow, ctx: RuntimeContext, out: Collector<ChangeRow>): void => {
    const state = ctx.state.value<Row[]>(ROWS, stateOpts);
    const rows = state.value() ?? [];
    const before = rows.slice(0, n);
    if (isRetract(change.kind)) {
      const at = indexOfRow(rows, change.row, compare);
      // Not held: below the top n of an insert-only input, or forgotten by TTL.
      if (at < 0) return;
      rows.splice(at, 1);
    } else if (insertOnly) {
      if (!insertKept(rows, change.row, n, compare)) return;
    } else rows.splice(upperBound(rows, change.row, compare), 0, change.row);
    if (rows.length === 0) state.clear();
    else state.update(rows);
    emit(before, rows.length > n ? rows.slice(0, n) : rows, out);
  };

  const key = (c: ChangeRow): unknown => keyForKeyBy(partitionBy(c.row));
  const keyed = opts.partitioned === true ? input.reinterpretAsKeyedStream(key) : input.keyBy(key);
  return keyed.process<ChangeRow>(update).uid(opts.uid).name(`sql:topN(${n})`);
}

/**
 * {@link topN} over an append-only stream of plain rows (every row an insert; `insertOnlyInput`
 * is implied), record by record: only the top `n` rows per partition are kept, a row that
 * sorts after the n-th is dropped after one comparison (no state write, nothing emitted).
 */
export function appendOnlyTopN(input: DataStream<Row>, opts: TopNOptions): DataStream<ChangeRow> {
  checkOptions(opts);
  const compare = opts.compare ?? comparatorOf(opts.orderBy);
  const stateOpts = ttlOptions(opts.ttlMs);
  const key = (r: Row): unknown => keyForKeyBy(opts.partitionBy(r));
  const keyed = opts.partitioned === true ? input.reinterpretAsKeyedStream(key) : input.keyBy(key);
  if (opts.n === 1 && opts.miniBatch !== undefined) {
    // The bundle's best row per partition (the first among equals), applied as one row at its end.
    const best: BundleFunction<Row, Row, ChangeRow> = {
      addInput: (kept, row) => (kept === undefined || compare(row, kept) < 0 ? row : kept),
      finishKey: top1(opts, compare, stateOpts),
    };
    return keyed
      .addOperator<ChangeRow>('bundle', keyedBundleOperator(best, opts.miniBatch), true)
      .uid(opts.uid)
      .name('sql:topN(1, append-only) mini-batch');
  }
  const fn = opts.n === 1 ? top1(opts, compare, stateOpts) : topRows(opts, compare, stateOpts);
  return keyed.process<ChangeRow>(fn).uid(opts.uid).name(`sql:topN(${opts.n}, append-only)`);
}

type RowFunction = (row: Row, ctx: RuntimeContext, out: Collector<ChangeRow>) => void;

/**
 * The append-only Top-1 (Flink's FastTop1Function): the partition's one row changes only when
 * a row sorts strictly before it (among equals the first to come stays first), and then the
 * row is updated in place: -U of the old, +U of the new (the partition key is the output's
 * unique key). A row that does not rank costs one comparison and allocates nothing.
 */
function top1(opts: TopNOptions, compare: (a: Row, b: Row) => number, stateOpts: StateOptions | undefined): RowFunction {
  const ranked = outputOf(opts);
  return (row, ctx, out) => {
    const state = ctx.state.value<Row[]>(ROWS, stateOpts);
    const rows = state.value();
    if (rows === undefined || rows.length === 0) {
      state.update([row]);
      out.collect({ kind: '+I', row: ranked(row, 1) });
      return;
    }
    const top = rows[0];
    if (compare(row, top) >= 0) return;
    rows[0] = row;
    state.update(rows);
    out.collect({ kind: '-U', row: ranked(top, 1) });
    out.collect({ kind: '+U', row: ranked(row, 1) });
  };
}

/**
 * The append-only Top-n, n > 1 (Flink's AppendOnlyTopNFunction): a row that enters at rank r
 * shifts the rows from r down by one and pushes the n-th out. Without a row number that is +I
 * -D of the row pushed out and +I of the row; with one, every rank from r on is updated (-U/+U,
 * or +I for a rank that was empty), except where the shifted row equals the one it replaces.
 */
function topRows(opts: TopNOptions, compare: (a: Row, b: Row) => number, stateOpts: StateOptions | undefined): RowFunction {
  const n = opts.n;
  const numbered = opts.rowNumberColumn !== undefined;
  const ranked = outputOf(opts);
  const same = sameRowOf(opts);
  return (row, ctx, out) => {
    const state = ctx.state.value<Row[]>(ROWS, stateOpts);
    const rows = state.value() ?? [];
    const held = rows.length;
    if (held >= n && compare(rows[n - 1], row) <= 0) return;
    const at = upperBound(rows, row, compare);
    if (numbered) {
      // Before the splice: rank i + 1 holds rows[i] now and rows[i - 1] (the row at i = at) after it.
      for (let i = at; i < held && i < n; i++) {
        const next = i === at ? row : rows[i - 1];
        if (i > at && same(rows[i], next)) continue;
        out.collect({ kind: '-U', row: ranked(rows[i], i + 1) });
        out.collect({ kind: '+U', row: ranked(next, i + 1) });
      }
      if (held < n) out.collect({ kind: '+I', row: ranked(held === at ? row : rows[held - 1], held + 1) });
    } else {
      if (held >= n) out.collect({ kind: '-D', row: ranked(rows[n - 1], n) });
      out.collect({ kind: '+I', row: ranked(row, at + 1) });
    }
    rows.splice(at, 0, row);
    if (rows.length > n) rows.length = n;
    state.update(rows);
  };
}

/** The output row of a ranked row (`output`, or the row itself, or with `rowNumberColumn` a row with its rank). */
function outputOf(opts: TopNOptions): (row: Row, rank: number) => Row {
  const column = opts.rowNumberColumn;
  if (opts.output !== undefined) return opts.output;
  if (column === undefined) return (row) => row;
  return (row, rank) => ({ ...row, [column]: rank });
}

function sameRowOf(opts: TopNOptions): (a: Row, b: Row) => boolean {
  return opts.sameRow ?? ((a, b) => rowId(a) === rowId(b));
}

/** Inserts `row` into the top `n` `rows` (kept at most n long) after its equals; false if it sorts after the n-th. */
function insertKept(rows: Row[], row: Row, n: number, compare: (a: Row, b: Row) => number): boolean {
  const at = upperBound(rows, row, compare);
  if (at >= n) return false;
  rows.splice(at, 0, row);
  if (rows.length > n) rows.length = n;
  return true;
}

/** How a Top-N emits the difference between its top rows before and after. */
function emitterOf(opts: TopNOptions): (before: Row[], after: Row[], out: Collector<ChangeRow>) => void {
  const output = outputOf(opts);
  if (opts.rowNumberColumn === undefined) return (before, after, out) => emitSetChanges(before, after, output, out);
  const same = sameRowOf(opts);
  return (before, after, out) => emitRankChanges(before, after, same, output, out);
}

/** Without a row number: the rows that left the top n (-D), then those that entered (+I). */
function emitSetChanges(before: Row[], after: Row[], output: (row: Row, rank: number) => Row, out: Collector<ChangeRow>): void {
  // A top few is searched as it is: two Sets per change cost more than that.
  const small = before.length <= SMALL_TOP && after.length <= SMALL_TOP;
  const was = small ? before : new Set(before);
  const is = small ? after : new Set(after);
  for (let i = 0; i < before.length; i++) if (!holds(is, before[i])) out.collect({ kind: '-D', row: output(before[i], i + 1) });
  for (let i = 0; i < after.length; i++) if (!holds(was, after[i])) out.collect({ kind: '+I', row: output(after[i], i + 1) });
}

function holds(rows: Row[] | Set<Row>, r: Row): boolean {
  return Array.isArray(rows) ? rows.includes(r) : rows.has(r);
}

/** Up to this many rows a set change is found by searching the arrays. */
const SMALL_TOP = 16;

/** With a row number: each rank whose row changed is updated (-U/+U), appears (+I) or goes (-D). */
function emitRankChanges(
  before: Row[],
  after: Row[],
  same: (a: Row, b: Row) => boolean,
  withRank: (row: Row, rank: number) => Row,
  out: Collector<ChangeRow>,
): void {
  const ranks = Math.max(before.length, after.length);
  for (let i = 0; i < ranks; i++) {
    const o = before[i];
    const nw = after[i];
    if (o !== undefined && nw !== undefined) {
      if (o === nw || same(o, nw)) continue;
      out.collect({ kind: '-U', row: withRank(o, i + 1) });
      out.collect({ kind: '+U', row: withRank(nw, i + 1) });
    } else if (o !== undefined) out.collect({ kind: '-D', row: withRank(o, i + 1) });
    else out.collect({ kind: '+I', row: withRank(nw, i + 1) });
  }
}

/** Index after the last row that sorts ≤ `row`: equal rows keep their arrival order. */
function upperBound(rows: Row[], row: Row, compare: (a: Row, b: Row) => number): number {
  let lo = 0;
  let hi = rows.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compare(rows[mid], row) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Index of the first row equal by value to `row` among those that sort equal to it, or -1. */
function indexOfRow(rows: Row[], row: Row, compare: (a: Row, b: Row) => number): number {
  let lo = 0;
  let hi = rows.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compare(rows[mid], row) < 0) lo = mid + 1;
    else hi = mid;
  }
  const id = rowId(row);
  for (let i = lo; i < rows.length && compare(rows[i], row) === 0; i++) if (rowId(rows[i]) === id) return i;
  return -1;
}

/** The ORDER BY as a comparator: nulls first ascending and last descending unless said. */
export function comparatorOf(fields: readonly SortField[]): (a: Row, b: Row) => number {
  return (a, b) => {
    for (const f of fields) {
      const x = f.value(a);
      const y = f.value(b);
      const xNull = x === null || x === undefined;
      const yNull = y === null || y === undefined;
      if (xNull || yNull) {
        if (xNull && yNull) continue;
        const nullsFirst = (f.nulls ?? (f.desc ? 'last' : 'first')) === 'first';
        return xNull === nullsFirst ? -1 : 1;
      }
      const c = (x as number) < (y as number) ? -1 : (x as number) > (y as number) ? 1 : 0;
      if (c !== 0) return f.desc ? -c : c;
    }
    return 0;
  };
}

function checkOptions(opts: TopNOptions): void {
  const bad = (m: string): never => {
    throw new EddyError('JOB_INVALID', `topN ${opts?.uid ?? ''}: ${m}`);
  };
  if (typeof opts?.uid !== 'string' || opts.uid === '') bad('uid must be a non-empty string');
  if (typeof opts.partitionBy !== 'function') bad('partitionBy must be a function of the row');
  if (!Array.isArray(opts.orderBy) || opts.orderBy.length === 0 || !opts.orderBy.every((f) => typeof f?.value === 'function')) {
    bad('orderBy must be a non-empty list of { value: (row) => v, desc? }');
  }
  if (!(Number.isSafeInteger(opts.n) && opts.n > 0)) bad(`n must be a positive integer, got ${opts.n}`);
  if (opts.ttlMs !== undefined && !(Number.isFinite(opts.ttlMs) && opts.ttlMs > 0))
    bad(`ttlMs must be a positive number of milliseconds, got ${opts.ttlMs}`);
}
