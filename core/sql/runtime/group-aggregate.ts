/**
 * Non-windowed GROUP BY over a changelog (Flink's GroupAggFunction).
 */
import type { DataStream } from '../../api/datastream.js';
import type { ChangeRow, Row } from './changelog.js';

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
}

/** Options of {@link groupAggregate}. */
export interface GroupAggregateOptions {
  /** Columns of the input row that form the group key; they come first in the output row. Empty: one global group. */
  groupBy: string[];
  /** The aggregates, output after the group columns in this order. */
  aggregates: AggregateSpec[];
  /** Idle-state TTL (Flink's table.exec.state.ttl): a group not touched for this long is forgotten. Default: kept forever. */
  ttlMs?: number;
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
  void input;
  void opts;
  throw new Error('todo');
}
