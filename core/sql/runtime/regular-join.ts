/**
 * Regular (non-windowed) equi-joins of two changelogs (Flink's StreamingJoinOperator).
 *
 * State, per join key and side, a map state: row id → [row, count, partners] — the distinct
 * rows of that side with their multiplicity and, for an outer side, how many rows of the other
 * side currently join them (0 means the row stands null-padded in the output). TTL applies per
 * stored row. A side that is append-only and not outer (no retraction to find a row by, no
 * partner count) and without TTL keeps a list state of its rows instead: no row id is built
 * (a string of every column) and no entry per row, which is most of a join of wide append-only
 * rows such as Nexmark q20's bids.
 *
 * Output kinds, as Flink's (FLINK-17337 keeps outer joins on +I/-D):
 *   accumulate on side S  each partner P: if P's side is outer and P had no partner, -D P+null;
 *                         then +I S+P (an inner join forwards the input's +I/+U);
 *                         no partner and S's side is outer: +I S+null
 *   retract on side S     each partner P: -D S+P (an inner join forwards -U/-D); if P's side is
 *                         outer and S was its last partner, +I P+null;
 *                         no partner and S's side is outer: -D S+null
 */
import type { DataStream } from '../../api/datastream.js';
import type { Collector, RuntimeContext } from '../../contract/functions.js';
import type { ListState, MapState } from '../../contract/state.js';
import { EddyError } from '../../failure.js';
import { isRetract, type ChangeRow, type Row, type RowKind } from './changelog.js';
import { joinSideRows, OlderJoinRows } from './older-join-rows.js';
import { keyForKeyBy, keyHasNull, rowId, ttlOptions } from './keys.js';

/** Which rows without a partner are kept (padded with nulls): none, the left's, the right's, both. */
export type JoinType = 'inner' | 'left' | 'right' | 'full';

/** Options of {@link regularJoin}. */
export interface RegularJoinOptions {
  /** inner, left, right or full outer. */
  type: JoinType;
  /** The equi-join key of a left row (a string, number, or an array of them); a key with null matches nothing, as SQL's `=`. */
  leftKey: (row: Row) => unknown;
  /** The equi-join key of a right row, comparable with leftKey's. */
  rightKey: (row: Row) => unknown;
  /** The rest of the ON condition, checked on each pair with equal keys. */
  condition?: (left: Row, right: Row) => boolean;
  /** The output row of a pair; the missing side of a null-padded row is null. */
  combine: (left: Row | null, right: Row | null) => Row;
  /**
   * A row's identity in state, the left side's and the right's (rows equal by value, the same
   * id); default: rowId, by all of the row's columns.
   */
  rowIds?: readonly [(row: Row) => string, (row: Row) => string];
  /** Idle-state TTL: a stored row not touched for this long is forgotten (Flink's table.exec.state.ttl). */
  ttlMs?: number;
  /**
   * Rows of one append-only side that no later row of the other side can match once the
   * watermark reaches `at(row)` (derived from the condition's time bounds: join-retention.ts):
   * such a row is dropped from state then, and one already behind the watermark is joined but
   * not kept. The output is the same as without it.
   */
  expire?: { side: 0 | 1; at: (row: Row) => number };
  /**
   * The columns of a left and of a right row (every column the condition and combine read), in
   * the order checkpoints before plain rows encoded an append-only side's rows: with them such
   * a checkpoint restores (older-join-rows.ts).
   */
  columns?: readonly [readonly string[], readonly string[]];
  /**
   * Which inputs are append-only, the left's and the right's (default neither): such an input
   * carries plain rows, each an insert, not `{ kind, row }` changes.
   */
  appendOnly?: readonly [boolean, boolean];
  /**
   * An inner join of two append-only inputs emits only insertions (as Flink's): with this set
   * it emits the joined rows themselves, not +I changes of them. Default false.
   */
  rowsOut?: boolean;
  /** uid of the join operator. */
  uid: string;
}

/**
 * `left JOIN right ON leftKey = rightKey AND condition`, inner or outer, over two changelogs.
 * Each side's rows are kept in keyed state by join key, with multiplicities (and for an outer
 * side, how many partners each has), so a retraction retracts its joined rows and a null-padded
 * row is retracted when the first partner arrives (and emitted again when the last one leaves).
 */
export function regularJoin(
  left: DataStream<ChangeRow> | DataStream<Row>,
  right: DataStream<ChangeRow> | DataStream<Row>,
  opts: RegularJoinOptions & { rowsOut: true },
): DataStream<Row>;
export function regularJoin(
  left: DataStream<ChangeRow> | DataStream<Row>,
  right: DataStream<ChangeRow> | DataStream<Row>,
  opts: RegularJoinOptions,
): DataStream<ChangeRow>;
export function regularJoin(
  left: DataStream<ChangeRow> | DataStream<Row>,
  right: DataStream<ChangeRow> | DataStream<Row>,
  opts: RegularJoinOptions,
): DataStream<ChangeRow> | DataStream<Row> {
  checkOptions(opts);
  const { leftKey, rightKey, combine, condition } = opts;
  const ids = opts.rowIds ?? [rowId, rowId];
  const stateOpts = ttlOptions(opts.ttlMs);
  const outer: [boolean, boolean] = [opts.type === 'left' || opts.type === 'full', opts.type === 'right' || opts.type === 'full'];
  const inner = opts.type === 'inner';
  const rowsOut = opts.rowsOut === true;
  const keys = [leftKey, rightKey];
  // The output row of `row` on `side` with `other` (null: padded).
  const pair = (side: 0 | 1, row: Row | null, other: Row | null): Row => (side === 0 ? combine(row, other) : combine(other, row));
  const matches = (side: 0 | 1, row: Row, other: Row): boolean =>
    condition === undefined || (side === 0 ? condition(row, other) : condition(other, row)) === true;

  const expire = opts.expire;
  const listed = [0, 1].map((s) => opts.appendOnly?.[s] === true && !outer[s] && opts.ttlMs === undefined);
  // A listed side keeps its rows as plain list elements, one a row: an incremental snapshot
  // then encodes only the rows appended since its base, in bulk with the rest of the delta.
  // Checkpoints before this stored them encoded (older-join-rows.ts): decoded on the key's first
  // read and written back as rows.
  const older = [0, 1].map((s) => (listed[s] && opts.columns !== undefined ? new OlderJoinRows(opts.columns[s]) : undefined));
  const sideNames = SIDE_STATE.map((name) => `regularJoin ${opts.uid}: the ${name} rows`);
  const listOf = (ctx: RuntimeContext, side: number): ListState<unknown> => ctx.state.list<unknown>(SIDE_STATE[side]);
  const rowsOf = (ctx: RuntimeContext, side: number): readonly Row[] => joinSideRows(listOf(ctx, side), older[side], sideNames[side]!);
  const addRow = (ctx: RuntimeContext, side: number, row: Row): void => {
    if (older[side] !== undefined) rowsOf(ctx, side); // bytes of an older checkpoint become rows first
    listOf(ctx, side).add(row);
  };
  const replaceRows = (ctx: RuntimeContext, side: number, rows: readonly Row[]): void => {
    if (rows.length === 0) listOf(ctx, side).clear();
    else listOf(ctx, side).update(rows);
  };
  const onChange = (side: 0 | 1, row: Row, kind: RowKind, ctx: RuntimeContext, out: Collector<ChangeRow | Row>): void => {
    const retract = isRetract(kind);
    const otherSide = (1 - side) as 0 | 1;
    // A key with null joins nothing (SQL's `=`), though an outer row still stands padded.
    const keyNull = keyHasNull(keys[side](row));
    let joined = 0;
    if (listed[otherSide]) {
      // Rows kept one by one, never outer: each a partner once.
      if (!keyNull) {
        for (const p of rowsOf(ctx, otherSide)) {
          if (!matches(side, row, p)) continue;
          joined++;
          if (rowsOut) out.collect(pair(side, row, p));
          else out.collect({ kind: inner ? kind : retract ? '-D' : '+I', row: pair(side, row, p) });
        }
      }
    } else {
      joined = joinStored(side, row, kind, keyNull, ctx, out);
    }
    // Ordered after the partners' retractions, as Flink: a downstream materialization never sees
    // a padded row and a joined row of the same input row at once.
    if (outer[side] && joined === 0) out.collect({ kind: retract ? '-D' : '+I', row: pair(side, row, null) });
    const expiring = !retract && expire !== undefined && expire.side === side;
    if (expiring && !(expire.at(row) > ctx.timers.currentWatermark())) return;
    // A listed side is append-only: its input carries plain rows, never a retraction.
    if (listed[side]) {
      // One timer per key at a time: at the first row's time, then (onTimer) at the earliest
      // row left. A row expiring before it is dropped a little later, which changes nothing.
      if (expiring && rowsOf(ctx, side).length === 0) ctx.timers.registerEventTimeTimer(expire.at(row));
      addRow(ctx, side, row);
      return;
    }
    if (expiring) ctx.timers.registerEventTimeTimer(expire.at(row));
    const mine = ctx.state.map<string, JoinEntry>(SIDE_STATE[side], stateOpts);
    const id = ids[side](row);
    if (retract) removeOne(mine, id);
    else {
      const e = mine.get(id);
      if (e === undefined) mine.put(id, [row, 1, joined]);
      else {
        e[1] += 1;
        e[2] = joined;
        mine.put(id, e);
      }
    }
  };

  /** Joins `row` of `side` with the other side's stored distinct rows; how many rows it joined. */
  const joinStored = (
    side: 0 | 1,
    row: Row,
    changeKind: RowKind,
    keyNull: boolean,
    ctx: RuntimeContext,
    out: Collector<ChangeRow | Row>,
  ): number => {
    const retract = isRetract(changeKind);
    const otherSide = (1 - side) as 0 | 1;
    const otherOuter = outer[otherSide];
    const theirs = ctx.state.map<string, JoinEntry>(SIDE_STATE[otherSide], stateOpts);
    const partners = keyNull ? [] : theirs.entries();
    let joined = 0;
    for (const [pid, p] of partners) {
      if (!matches(side, row, p[0])) continue;
      joined += p[1];
      let kind: RowKind = retract ? '-D' : '+I';
      if (inner) kind = changeKind;
      if (otherOuter) {
        // The partner's padded rows leave with its first partner and return with its last.
        if (!retract && p[2] === 0) for (let c = 0; c < p[1]; c++) out.collect({ kind: '-D', row: pair(otherSide, p[0], null) });
        if (!retract) p[2] += 1;
        else if (p[2] > 0 && --p[2] === 0) for (let c = 0; c < p[1]; c++) out.collect({ kind: '+I', row: pair(otherSide, p[0], null) });
        theirs.put(pid, p);
      }
      const r = pair(side, row, p[0]);
      for (let c = 0; c < p[1]; c++) out.collect(rowsOut ? r : { kind, row: r });
    }
    return joined;
  };

  // An append-only input carries plain rows, each an insert: no change object is built, packed
  // across the exchange and unpacked per row for a kind that is always +I.
  const plain = [opts.appendOnly?.[0] === true, opts.appendOnly?.[1] === true];
  const keyOf = (side: 0 | 1): ((x: ChangeRow | Row) => unknown) => {
    const key = keys[side]!;
    return plain[side] ? (row) => keyForKeyBy(key(row as Row)) : (c) => keyForKeyBy(key((c as ChangeRow).row));
  };
  const inputOf = (side: 0 | 1) =>
    plain[side]
      ? (row: ChangeRow | Row, ctx: RuntimeContext, out: Collector<ChangeRow | Row>) => onChange(side, row as Row, '+I', ctx, out)
      : (c: ChangeRow | Row, ctx: RuntimeContext, out: Collector<ChangeRow | Row>) =>
          onChange(side, (c as ChangeRow).row, (c as ChangeRow).kind, ctx, out);
  const joined = (left as DataStream<ChangeRow | Row>)
    .connect(right as DataStream<ChangeRow | Row>)
    .keyBy(keyOf(0), keyOf(1))
    .process<ChangeRow | Row>({
      processElement1: inputOf(0),
      processElement2: inputOf(1),
      ...(expire && {
        onTimer: (time: number, ctx: RuntimeContext) => {
          // The key's rows of the expiring side whose time has come (several rows may share a timer).
          if (listed[expire.side]) {
            // Everything behind the watermark goes now (the final one passes every row's time at once).
            const now = Math.max(time, ctx.timers.currentWatermark());
            let next = Infinity;
            const kept = rowsOf(ctx, expire.side).filter((row) => {
              const at = expire.at(row);
              if (at <= now) return false;
              if (at < next) next = at;
              return true;
            });
            replaceRows(ctx, expire.side, kept);
            if (kept.length > 0) ctx.timers.registerEventTimeTimer(next);
            return;
          }
          const mine = ctx.state.map<string, JoinEntry>(SIDE_STATE[expire.side], stateOpts);
          for (const [id, e] of mine.entries()) if (expire.at(e[0]) <= time) mine.remove(id);
        },
      }),
    })
    .uid(opts.uid)
    .name(`sql:${opts.type}Join`);
  return joined as DataStream<ChangeRow> | DataStream<Row>;
}

/** A stored row of one side: [row, multiplicity, partners on the other side]. */
type JoinEntry = [Row, number, number];

const SIDE_STATE = ['left', 'right'] as const;

/** Takes one copy of the row out of a side's state (nothing if it is not there: TTL forgot it). */
function removeOne(state: MapState<string, JoinEntry>, id: string): void {
  const e = state.get(id);
  if (e === undefined) return;
  if (e[1] <= 1) state.remove(id);
  else {
    e[1] -= 1;
    state.put(id, e);
  }
}

function checkOptions(opts: RegularJoinOptions): void {
  const bad = (m: string): never => {
    throw new EddyError('JOB_INVALID', `regularJoin ${opts?.uid ?? ''}: ${m}`);
  };
  if (typeof opts?.uid !== 'string' || opts.uid === '') bad('uid must be a non-empty string');
  if (!['inner', 'left', 'right', 'full'].includes(opts.type)) bad(`type must be 'inner', 'left', 'right' or 'full', got '${opts.type}'`);
  if (typeof opts.leftKey !== 'function' || typeof opts.rightKey !== 'function') bad('leftKey and rightKey must be functions of a row');
  if (typeof opts.combine !== 'function') bad('combine must be a function (left, right) => row');
  if (opts.condition !== undefined && typeof opts.condition !== 'function') bad('condition must be a function (left, right) => boolean');
  if (opts.ttlMs !== undefined && !(Number.isFinite(opts.ttlMs) && opts.ttlMs > 0))
    bad(`ttlMs must be a positive number of milliseconds, got ${opts.ttlMs}`);
  if (opts.rowsOut === true && !(opts.type === 'inner' && opts.appendOnly?.[0] === true && opts.appendOnly[1] === true))
    bad('rowsOut needs an inner join of two append-only inputs (anything else emits retractions)');
  if (opts.expire !== undefined && ((opts.expire.side !== 0 && opts.expire.side !== 1) || typeof opts.expire.at !== 'function'))
    bad('expire must be { side: 0 | 1, at: (row) => event time }');
}
