/**
 * What the planner built each append-only SQL stream from, kept beside the DataStream graph so
 * that a later rewrite (join-back.ts) can see through it: a stateless calc (its row function and
 * which output columns are plain copies of input columns) or a window aggregate over rows that
 * already carry their window (its accumulator and key columns). Recorded when the operator is
 * built; nothing here runs per record in the built job.
 */
import type { AggregateFunction } from '../contract/state.js';
import type { Row } from './expressions.js';
import type { StreamNode } from '../graph/stream-graph.js';
import type { AnyStream, WindowInfo } from './relation.js';
import type { Calc } from './calc.js';
import type { Field } from './scope.js';
import type { SqlType } from './types.js';

/** A stateless calc: `apply` gives the output row, or undefined when a condition drops the row. */
export interface CalcStep {
  k: 'calc';
  input: AnyStream;
  apply: (row: Row) => Row | undefined;
  /** The input column an output column copies unchanged; undefined for a computed one. */
  copyOf: (key: string) => string | undefined;
  /** Whether it has conditions (may drop a row). */
  filters: boolean;
  /** The keys of the row it builds, in order (undefined: it passes its input rows on). */
  keys: readonly string[] | undefined;
}

/**
 * A window aggregate over rows already windowed (a window aggregate's rows): grouped by plain
 * columns and window_start / window_end, gathered by a tumbling window of `sizeMs` over the rows'
 * timestamps. `result` is its output row for one group's accumulator.
 */
export interface RewindowStep {
  k: 'rewindow';
  input: AnyStream;
  sizeMs: number;
  fn: AggregateFunction<Row, unknown, unknown>;
  result: (acc: unknown) => Row;
  /** Output column key of each grouping component (group columns, window_start, window_end) → the input column it is. */
  groupCopies: ReadonlyMap<string, string>;
  /** The output column that is window_end (one of groupCopies' keys). */
  endKey: string;
  /** Grouping expressions that are not plain columns (then no rewrite sees through the aggregate). */
  computedGroups: boolean;
}

/**
 * A window aggregate of a window TVF over plain rows (its windows assigned by the rows' time
 * column): what a join of those rows with it (join-extreme.ts) needs to run it fused. Nothing of
 * it runs unless the rewrite takes the aggregate out.
 */
export interface WindowStep {
  k: 'window';
  /** The rows aggregated (the narrowed input relation's stream) and their pending calc, if any. */
  input: AnyStream;
  inputCalc: Calc | undefined;
  /** The input fields (keys as in the rows) the calc's columns line up with. */
  inputFields: readonly Field[];
  window: WindowInfo;
  /** Grouping columns besides window_start / window_end. */
  groups: number;
  /** Each aggregate call: its kind, the input column it reads when a plain column, and whether it has a FILTER. */
  aggs: ReadonlyArray<{ kind: string; argKey: string | undefined; filtered: boolean; type: SqlType }>;
  /** The aggregate's output row of a window (no grouping columns) from its aggregate values. */
  row: (start: number, end: number, values: unknown[]) => Row;
  /** The output column key of each aggregate call. */
  aggKeys: readonly string[];
  /** The output column key of each grouping column, and its value over an input row. */
  groupKeys: readonly string[];
  groupFns: ReadonlyArray<(row: Row) => unknown>;
  /** Whether two input rows are in one group: the key the aggregate keys them by. */
  groupKey: (row: Row) => unknown;
  /** Without aggregate calls (a distinct): the output row of the group of input row `row` in window [start, end). */
  distinctRow: ((row: Row, start: number, end: number) => Row) | undefined;
  /** The keys of the rows it emits, in order. */
  columns: readonly string[];
  /**
   * Makes it emit only the columns in `keep` (a fused reader that reads no others and is its only
   * reader: join-back.ts); a later reader of the same aggregate then gets an operator of its own.
   */
  narrow(keep: ReadonlySet<string>): void;
}

export type Step = CalcStep | RewindowStep | WindowStep;

const steps = new WeakMap<AnyStream, Step>();

/** Records how `stream` was built. */
export function record(stream: AnyStream, step: Step): void {
  steps.set(stream, step);
}

/** Forgets how `stream` was built (its operator was changed in place). */
export function forget(stream: AnyStream): void {
  steps.delete(stream);
}

/** How `stream` was built, if the planner recorded it. */
export function stepOf(stream: AnyStream): Step | undefined {
  return steps.get(stream);
}

/** Nodes a rewrite took out of the graph: a cached stream of one must not be built on. */
const dropped = new WeakSet<object>();

/** The graph node a stream is the output of (a single operator's stream), if it is one. */
export function nodeOf(stream: AnyStream): StreamNode | undefined {
  return 'node' in stream ? (stream as { node: StreamNode }).node : undefined;
}

/** Marks `node` as taken out of the graph. */
export function drop(node: StreamNode): void {
  dropped.add(node);
}

/** Whether `stream` is the output of a node a rewrite took out of the graph. */
export function isDropped(stream: AnyStream): boolean {
  const n = nodeOf(stream);
  return n !== undefined && dropped.has(n);
}
