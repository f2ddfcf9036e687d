/** A relation during planning: its stream, its fields and what kind of changes it carries. */
import type { DataStream } from '../api/datastream.js';
import type { Row } from './expressions.js';
import type { Field } from './scope.js';
import type { SqlType } from './types.js';

/** The window a window TVF put on each row (kept so aggregates and joins can use it). */
export interface WindowInfo {
  fn: 'TUMBLE' | 'HOP' | 'CUMULATE' | 'SESSION';
  sizeMs: number;
  slideMs: number;
  gapMs?: number;
  /** The time column (field key) the windows are assigned by. */
  timeKey: string;
  /** Window TVF not yet applied: rows have no window_start yet (the aggregate assigns windows itself). */
  deferred: boolean;
  /** Field keys of window_start / window_end once present. */
  startKey: string;
  endKey: string;
  /** The input rows come from a window aggregate: timestamps are window_end - 1. */
  aggregated: boolean;
  /** Processing-time windows (the time column is a PROCTIME() attribute): assigned by the wall clock, not the column. */
  proctime?: boolean;
}

/** A planned relation. `stream` carries Row (append) or ChangeRow (updating) records. */
export interface Rel {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- Row or ChangeRow, told apart by `updating`
  stream: DataStream<any>;
  fields: Field[];
  /** True when the stream is a changelog of ChangeRow, false for append-only Rows. */
  updating: boolean;
  /** The key of the event-time attribute field (record timestamps equal it), if any. */
  rowtime?: string;
  window?: WindowInfo;
  /**
   * Columns that every row still to come holds ahead of the watermark this stream has passed:
   * key → g, each later row has value ≥ watermark + g. A window aggregate emits a window when
   * the watermark reaches window_end - 1 (before passing it on) and drops late rows, so later
   * rows have window_end ≥ watermark + 2 and window_time ≥ watermark + 1. A regular join uses
   * this to forget rows of the other side that no later row can match (join-retention.ts).
   */
  aheadOfWatermark?: Readonly<Record<string, number>>;
  /** Field keys that identify a row of an updating relation (its upsert key), if known. */
  uniqueKey?: string[];
  /**
   * Field-key lists by each of which the stream is already partitioned as SQL's keyed operators
   * partition (keyBy of the column's value, or of the array of the columns' values, at the job's
   * parallelism): set only on a join's own output (an inner join emits every row under its join
   * key, and both sides' key columns hold it). A keyed operator on the same columns needs no
   * exchange (Flink drops an exchange whose hash distribution its input already satisfies). Not
   * carried through a calc: a projection may give a key to another column.
   */
  hashedBy?: ReadonlyArray<readonly string[]>;
  /** Why the relation is updating (e.g. 'the GROUP BY at line 3, column 1'), for the sink's refusal. */
  updateReason?: string;
}

/** A column of an output relation: name and type. */
export interface OutColumn {
  name: string;
  type: SqlType;
}

export type { Row };

/** A stream of Row or ChangeRow (DataStream is invariant in its type). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyStream = DataStream<any>;
