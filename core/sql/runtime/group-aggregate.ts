/**
 * Non-windowed GROUP BY over a changelog (Flink's GroupAggFunction). State per group, one
 * value: `[rows, acc1, acc2, …]` — the number of rows in the group (to know when its last row
 * is retracted) and one retractable accumulator per aggregate (see accumulators.ts). The
 * emitted result is recomputed from the accumulators, so it needs no state of its own. With
 * mini-batch on (Flink's MiniBatchGroupAggFunction) a group's changes wait in a bundle and are
 * applied together; the state is the same either way, so a savepoint restores into both.
 */
import type { DataStream } from '../../api/datastream.js';
import type { Collector, RuntimeContext } from '../../contract/functions.js';
import type { ValueState } from '../../contract/state.js';
import { EddyError } from '../../failure.js';
import type { BundleTrigger } from '../../operators/keyed-bundle.js';
import { applyByKey } from './keyed-changes.js';
import { accumulate, createAccumulator, resultOf, type Accumulator } from './accumulators.js';
import { isRetract, type ChangeRow, type Row } from './changelog.js';
import { groupKeyOf, ttlOptions } from './keys.js';

/** The aggregate functions a group aggregate computes. */
export type AggregateKind = 'count*' | 'count' | 'sum' | 'avg' | 'min' | 'max' | 'countDistinct';

/** One aggregate call of the SELECT list, e.g. `SUM(price) FILTER (WHERE price > 10) AS total`. */
export interface AggregateSpec {
  /** Which function: COUNT(*), COUNT(x), SUM(x), AVG(x), MIN(x), MAX(x), COUNT(DISTINCT x). */
  kind: AggregateKind;
  /** The argument x of the row (every kind but 'count*'); null and undefined are skipped, as SQL does. */
  arg?: (row: Row) => unknown;
  /** FILTER (WHERE …): only rows for which it is true are aggregated. */
  filter?: (row: Row) => boolean;
  /** The output column. */
  as: string;
  /** AVG over an integer column: the result is truncated to an integer, as Flink's (AVG takes the argument's type). */
  integerResult?: boolean;
  /**
   * SUM/AVG computed exactly (SQL's DECIMAL): how the running sum takes a value (delta 1) or
   * gives it back (delta -1), and the result of a sum over n values. Default: numbers, sum / n.
   */
  exact?: { add(sum: unknown, v: unknown, delta: 1 | -1): unknown; result(sum: unknown, n: number): unknown };
}

/** Options of {@link groupAggregate}. */
export interface GroupAggregateOptions {
  /** Columns of the input row that form the group key; they come first in the output row. Empty: one global group. */
  groupBy: string[];
  /** The aggregates, output after the group columns in this order. */
  aggregates: AggregateSpec[];
  /**
   * True when the input has only +I (Flink's insert-only changelog mode): MIN and MAX then keep
   * one value instead of the multiset, and a retraction fails the task. Default false.
   */
  insertOnlyInput?: boolean;
  /**
   * The output row's columns in order, each `[column, from]`: `from` is a group column or an
   * aggregate's `as` (the select list folded in: no calc re-projects each change). Default: the
   * group columns, then the aggregates, under their own names.
   */
  output?: ReadonlyArray<readonly [string, string]>;
  /** Idle-state TTL (Flink's table.exec.state.ttl): a group not touched for this long is forgotten. Default: kept forever. */
  ttlMs?: number;
  /**
   * Mini-batch (Flink's table.exec.mini-batch): changes are buffered per group and applied when
   * the bundle is finished (see keyed-bundle.ts), each group's state read and written once and
   * only its net change emitted. Default: every change applied and emitted at once.
   */
  miniBatch?: BundleTrigger;
  /** uid of the aggregate operator (its state is found by it in checkpoints and savepoints). */
  uid: string;
}

/**
 * GROUP BY `groupBy` with `aggregates` over an append or changelog input: emits +I for a new
 * group, -U/+U when its result changes (nothing when it does not), -D when its last row is
 * retracted. Input -U/-D retract rows, so accumulators retract too (MIN/MAX and COUNT
 * DISTINCT keep the multiset of values, as Flink's MinWithRetractAggFunction).
 */
export function groupAggregate(input: DataStream<ChangeRow>, opts: GroupAggregateOptions): DataStream<ChangeRow> {
  const agg = aggregatorOf(opts);
  const insertOnly = opts.insertOnlyInput === true;
  const update = (changes: readonly ChangeRow[], ctx: RuntimeContext, out: Collector<ChangeRow>): void => {
    const state = agg.open(ctx);
    for (let i = 0; i < changes.length; i++) {
      const change = changes[i];
      const retract = isRetract(change.kind);
      if (retract && insertOnly) {
        throw new EddyError(
          'UNSUPPORTED',
          `groupAggregate ${opts.uid}: got a ${change.kind} change though its input was declared insert-only (insertOnlyInput); the planner must not set it over a changelog`,
        );
      }
      agg.step(change.row, retract ? -1 : 1);
    }
    agg.close(state, changes[changes.length - 1].row, out);
  };
  const keyOf = groupKeyOf(opts.groupBy);
  const keyed = input.keyBy((c: ChangeRow) => keyOf(c.row));
  return applyByKey(keyed, update, { uid: opts.uid, name: `sql:groupAggregate(${opts.groupBy.join(', ')})`, miniBatch: opts.miniBatch });
}

/**
 * {@link groupAggregate} over an append-only stream of plain rows (`insertOnlyInput` implied):
 * no `{ kind, row }` per record to build, send across the exchange and read. The same state and
 * output, so a savepoint restores into either.
 */
export function appendOnlyGroupAggregate(input: DataStream<Row>, opts: GroupAggregateOptions): DataStream<ChangeRow> {
  const agg = aggregatorOf({ ...opts, insertOnlyInput: true });
  const update = (rows: readonly Row[], ctx: RuntimeContext, out: Collector<ChangeRow>): void => {
    const state = agg.open(ctx);
    for (let i = 0; i < rows.length; i++) agg.step(rows[i], 1);
    agg.close(state, rows[rows.length - 1], out);
  };
  const keyed = input.keyBy(groupKeyOf(opts.groupBy));
  return applyByKey(keyed, update, {
    uid: opts.uid,
    name: `sql:groupAggregate(${opts.groupBy.join(', ')}, append-only)`,
    miniBatch: opts.miniBatch,
  });
}

/**
 * One group's update, in three steps so both input forms share it: `open` reads the current
 * group's accumulators and its result before; `step` folds one row in (delta 1) or out (-1);
 * `close` writes the accumulators back and emits the net change of the result: +I for a new
 * group, -U/+U when the result changed, -D when its rows are gone, nothing otherwise. One
 * group is open at a time (the key's records are applied before the next key's).
 */
function aggregatorOf(opts: GroupAggregateOptions): {
  open(ctx: RuntimeContext): ValueState<unknown[]>;
  step(row: Row, delta: 1 | -1): void;
  close(state: ValueState<unknown[]>, row: Row, out: Collector<ChangeRow>): void;
} {
  checkOptions(opts);
  const groupBy = [...opts.groupBy];
  const insertOnly = opts.insertOnlyInput === true;
  // Over inserts only, the extreme seen so far is all MIN/MAX need (no retraction can take it).
  const specs = opts.aggregates.map((a) => (insertOnly && (a.kind === 'min' || a.kind === 'max') ? { ...a, keepOnlyExtreme: true } : a));
  const stateOpts = ttlOptions(opts.ttlMs);
  const n = specs.length;

  // The output row of a group: column i is aggregate aggAt[i]'s value, or (-1) group column from[i] of `row`.
  const columns = opts.output ?? [...groupBy.map((c) => [c, c] as const), ...specs.map((a) => [a.as, a.as] as const)];
  const names = columns.map((c) => c[0]);
  const from = columns.map((c) => c[1]);
  const aggAt = from.map((f) => specs.findIndex((a) => a.as === f));
  const output = (row: Row, values: unknown[]): Row => {
    const out: Row = {};
    for (let i = 0; i < names.length; i++) out[names[i]] = aggAt[i] < 0 ? (row[from[i]] ?? null) : values[aggAt[i]];
    return out;
  };
  const resultsInto = (acc: unknown[], into: unknown[]): unknown[] => {
    for (let i = 0; i < n; i++) into[i] = integral(specs[i], resultOf(specs[i], acc[i + 1] as Accumulator));
    return into;
  };
  // The open group: its accumulators (undefined once it has no rows, or never had) and its result before.
  let acc: unknown[] | undefined;
  let existed = false;
  const before: unknown[] = new Array(n);

  return {
    open(ctx) {
      const state = ctx.state.value<unknown[]>('acc', stateOpts);
      acc = state.value();
      existed = acc !== undefined;
      if (existed) resultsInto(acc!, before);
      return state;
    },
    step(row, delta) {
      if (acc === undefined) {
        // A retraction for a group we do not hold (forgotten by TTL, or emptied earlier in the bundle): nothing to take it from.
        if (delta < 0) return;
        acc = [0];
        for (let i = 0; i < n; i++) acc.push(createAccumulator(specs[i]));
      }
      acc[0] = (acc[0] as number) + delta;
      for (let i = 0; i < n; i++) acc[i + 1] = accumulate(specs[i], acc[i + 1] as Accumulator, row, delta);
      if ((acc[0] as number) <= 0) acc = undefined;
    },
    close(state, row, out) {
      const now = acc;
      acc = undefined;
      if (now === undefined) {
        if (!existed) return;
        state.clear();
        out.collect({ kind: '-D', row: output(row, before) });
        return;
      }
      // Written back even when the result is unchanged: the accumulators changed, and TTL counts from the write.
      state.update(now);
      const after = resultsInto(now, new Array(n));
      if (!existed) out.collect({ kind: '+I', row: output(row, after) });
      else if (!sameValues(before, after)) {
        out.collect({ kind: '-U', row: output(row, before) });
        out.collect({ kind: '+U', row: output(row, after) });
      }
    },
  };
}

function sameValues(a: unknown[], b: unknown[]): boolean {
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

const KINDS = new Set(['count*', 'count', 'sum', 'avg', 'min', 'max', 'countDistinct']);

function checkOptions(opts: GroupAggregateOptions): void {
  const bad = (m: string): never => {
    throw new EddyError('JOB_INVALID', `groupAggregate ${opts?.uid ?? ''}: ${m}`);
  };
  if (typeof opts?.uid !== 'string' || opts.uid === '') bad('uid must be a non-empty string');
  if (!Array.isArray(opts.groupBy) || !opts.groupBy.every((c) => typeof c === 'string')) bad('groupBy must be a list of column names');
  if (!Array.isArray(opts.aggregates)) bad('aggregates must be a list');
  const names = new Set(opts.groupBy);
  for (const a of opts.aggregates) {
    if (!KINDS.has(a?.kind)) bad(`unknown aggregate kind '${a?.kind}' (expected one of ${[...KINDS].join(', ')})`);
    if (a.kind !== 'count*' && typeof a.arg !== 'function') bad(`aggregate ${a.kind} needs arg, a function of the row`);
    if (a.filter !== undefined && typeof a.filter !== 'function') bad(`the FILTER of ${a.as} must be a function of the row`);
    if (typeof a.as !== 'string' || a.as === '' || names.has(a.as)) bad(`aggregate output column '${a.as}' is empty or used twice`);
    names.add(a.as);
  }
  for (const c of opts.output ?? []) {
    if (!Array.isArray(c) || typeof c[0] !== 'string' || !names.has(c[1]))
      bad(`output column ${JSON.stringify(c)} must be [column, a group column or an aggregate's as]`);
  }
  if (opts.ttlMs !== undefined && !(Number.isFinite(opts.ttlMs) && opts.ttlMs > 0))
    bad(`ttlMs must be a positive number of milliseconds, got ${opts.ttlMs}`);
}

function integral(spec: AggregateSpec, v: unknown): unknown {
  return spec.integerResult === true && typeof v === 'number' ? Math.trunc(v) : v;
}
