/**
 * Regular (non-windowed) equi-joins of two changelogs (Flink's StreamingJoinOperator).
 */
import type { DataStream } from '../../api/datastream.js';
import type { ChangeRow, Row } from './changelog.js';

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
  /** Idle-state TTL: a stored row not touched for this long is forgotten (Flink's table.exec.state.ttl). */
  ttlMs?: number;
  /** uid of the join operator. */
  uid: string;
}

/**
 * `left JOIN right ON leftKey = rightKey AND condition`, inner or outer, over two changelogs.
 * Each side's rows are kept in keyed state by join key, with multiplicities (and for an outer
 * side, how many partners each has), so a retraction retracts its joined rows and a null-padded
 * row is retracted when the first partner arrives (and emitted again when the last one leaves).
 */
export function regularJoin(left: DataStream<ChangeRow>, right: DataStream<ChangeRow>, opts: RegularJoinOptions): DataStream<ChangeRow> {
  void left;
  void right;
  void opts;
  throw new Error('todo');
}
