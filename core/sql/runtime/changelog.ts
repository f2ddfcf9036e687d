/**
 * The changelog a SQL query produces, as Flink's RowKind: an append-only query emits only
 * inserts; a non-windowed aggregate, a regular join or a Top-N also emits retractions of rows
 * it emitted before. A consumer that materializes a table applies each change in order:
 *   +I  insert `row`                 -U  retract `row` (the value before an update)
 *   +U  insert `row` (the new value) -D  retract `row` (delete)
 * -U is always followed by its +U (possibly on another key for joins); an upsert consumer
 * keyed by a unique key may drop -U and treat +I/+U as upserts and -D as delete by key.
 */
import type { DataStream } from '../../api/datastream.js';

/** A SQL row: a plain object keyed by column name (lower-case as written in the DDL). */
export type Row = Record<string, unknown>;

/** The kind of a change (Flink's RowKind short strings): insert, update-before, update-after, delete. */
export type RowKind = '+I' | '-U' | '+U' | '-D';

/** One change of a changelog: what happened (`kind`) to which row. */
export interface ChangeRow {
  /** Insert, update-before, update-after or delete. */
  kind: RowKind;
  /** The row inserted, retracted or updated (all columns, not only the key). */
  row: Row;
}

/** True for +I and +U: the row is added to the table. */
export function isAccumulate(kind: RowKind): boolean {
  return kind === '+I' || kind === '+U';
}

/** True for -U and -D: the row is taken out of the table. */
export function isRetract(kind: RowKind): boolean {
  return kind === '-U' || kind === '-D';
}

/** Options shared by the changelog helpers: the uid of the operator they add. */
export interface ChangelogStepOptions {
  /** uid of the operator (stateless, but a uid keeps the graph's uids derived from the statement). */
  uid: string;
}

/** An append-only stream of rows as a changelog: every row becomes `{ kind: '+I', row }`. */
export function insertOnly(input: DataStream<Row>, opts: ChangelogStepOptions): DataStream<ChangeRow> {
  return input
    .map((row: Row): ChangeRow => ({ kind: '+I', row }))
    .uid(opts.uid)
    .name('sql:insertOnly');
}

/**
 * The changelog an upsert sink takes (Flink's UPSERT changelog mode): -U dropped, since the
 * +U that follows overwrites the same key; +I, +U and -D pass.
 */
export function dropUpdateBefore(input: DataStream<ChangeRow>, opts: ChangelogStepOptions): DataStream<ChangeRow> {
  return input
    .filter((c: ChangeRow) => c.kind !== '-U')
    .uid(opts.uid)
    .name('sql:dropUpdateBefore');
}
