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
  checkOptions(opts);
  const groupBy = [...opts.groupBy];
  const insertOnly = opts.insertOnlyInput === true;
  // Over inserts only, the extreme seen so far is all MIN/MAX need (no retraction can take it).
  const specs = opts.aggregates.map((a) => (insertOnly && (a.kind === 'min' || a.kind === 'max') ? { ...a, keepOnlyExtreme: true } : a));
  const stateOpts = ttlOptions(opts.ttlMs);
  const keyOfChange = groupKeyOf(groupBy);

  /** The output row of a group: its columns from `row`, then the aggregates' values. */
  const output = (row: Row, values: unknown[]): Row => {
    const out: Row = {};
    for (const c of groupBy) out[c] = row[c] ?? null;
    for (let i = 0; i < specs.length; i++) out[specs[i].as] = values[i];
    return out;
  };
  const results = (acc: unknown[]): unknown[] => specs.map((s, i) => integral(s, resultOf(s, acc[i + 1] as Accumulator)));

  /** One change folded into a group's accumulators; undefined once the group has no rows (or never had). */
  const step = (acc: unknown[] | undefined, change: ChangeRow): unknown[] | undefined => {
    const retract = isRetract(change.kind);
    if (retract && insertOnly) {
      throw new EddyError(
        'UNSUPPORTED',
        `groupAggregate ${opts.uid}: got a ${change.kind} change though its input was declared insert-only (insertOnlyInput); the planner must not set it over a changelog`,
      );
    }
    if (acc === undefined) {
      // A retraction for a group we do not hold (forgotten by TTL, or emptied earlier in the bundle): nothing to take it from.
      if (retract) return undefined;
      acc = [0, ...specs.map((s) => createAccumulator(s.kind))];
    }
    const delta = retract ? -1 : 1;
    acc[0] = (acc[0] as number) + delta;
    for (let i = 0; i < specs.length; i++) acc[i + 1] = accumulate(specs[i], acc[i + 1] as Accumulator, change.row, delta);
    return (acc[0] as number) <= 0 ? undefined : acc;
  };

  /**
   * Applies the current group's changes (one, or a mini-batch's in arrival order) with one
   * state read and one write, and emits the net change of its result: +I for a new group,
   * -U/+U when the result changed, -D when its rows are gone, nothing otherwise.
   */
  const update = (changes: readonly ChangeRow[], ctx: RuntimeContext, out: Collector<ChangeRow>): void => {
    const state = ctx.state.value<unknown[]>('acc', stateOpts);
    let acc = state.value();
    const before = acc === undefined ? undefined : results(acc);
    for (let i = 0; i < changes.length; i++) acc = step(acc, changes[i]);
    const row = changes[changes.length - 1].row;
    if (acc === undefined) {
      if (before === undefined) return;
      state.clear();
      out.collect({ kind: '-D', row: output(row, before) });
      return;
    }
    // Written back even when the result is unchanged: the accumulators changed, and TTL counts from the write.
    state.update(acc);
    const after = results(acc);
    if (before === undefined) out.collect({ kind: '+I', row: output(row, after) });
    else if (!sameValues(before, after)) {
      out.collect({ kind: '-U', row: output(row, before) });
      out.collect({ kind: '+U', row: output(row, after) });
    }
  };

  const keyed = input.keyBy((c: ChangeRow) => keyOfChange(c.row));
  return applyByKey(keyed, update, { uid: opts.uid, name: `sql:groupAggregate(${groupBy.join(', ')})`, miniBatch: opts.miniBatch });
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
  if (opts.ttlMs !== undefined && !(Number.isFinite(opts.ttlMs) && opts.ttlMs > 0))
    bad(`ttlMs must be a positive number of milliseconds, got ${opts.ttlMs}`);
}

function integral(spec: AggregateSpec, v: unknown): unknown {
  return spec.integerResult === true && typeof v === 'number' ? Math.trunc(v) : v;
}
