/**
 * Top-N per partition: `ROW_NUMBER() OVER (PARTITION BY … ORDER BY …) AS rn … WHERE rn <= N`
 * (Flink's AppendOnlyTopNFunction and RetractableTopNFunction).
 */
import type { DataStream } from '../../api/datastream.js';
import type { ChangeRow, Row } from './changelog.js';

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
  /** uid of the Top-N operator. */
  uid: string;
}

/**
 * The top `n` rows of each partition by `orderBy`, as a changelog of that set: a row entering
 * emits +I, a row leaving -D; with `rowNumberColumn`, every rank whose row changed emits -U of
 * the old and +U of the new (+I / -D for a rank that appears or disappears).
 */
export function topN(input: DataStream<ChangeRow>, opts: TopNOptions): DataStream<ChangeRow> {
  void input;
  void opts;
  throw new Error('todo');
}
