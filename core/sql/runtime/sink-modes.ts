/**
 * Which sinks take a changelog with updates and deletes. An append sink (files, print, Kafka-
 * like logs) would write retractions as rows; the planner refuses such a query at that sink.
 */
import type { DataStream, OperatorHandle } from '../../api/datastream.js';
import type { Sink } from '../../connectors/types.js';
import type { ChangeRow, Row } from './changelog.js';

const UPSERT = Symbol.for('eddy.sql.upsertSink');

/** A sink marked as taking a changelog of ChangeRow, applied as upserts and deletes by `key`. */
export type UpsertSink = Sink<ChangeRow> & { readonly [UPSERT]: { key: readonly string[] } };

/** Marks `sink` as an upsert sink over the primary key `key` (done by the changelog sinks here). */
export function markUpsertSink(sink: Sink<ChangeRow>, key: readonly string[]): UpsertSink {
  return Object.assign(sink, { [UPSERT]: { key: [...key] } }) as UpsertSink;
}

/** True if `sink` takes -U/+U/-D (an upsert sink); false for an append sink, which takes only inserts. */
export function sinkAcceptsUpdates(sink: Sink<unknown>): boolean {
  return (sink as Partial<UpsertSink>)[UPSERT] !== undefined;
}

/** The primary key an upsert sink writes by, or undefined for an append sink. */
export function upsertSinkKey(sink: Sink<unknown>): readonly string[] | undefined {
  return (sink as Partial<UpsertSink>)[UPSERT]?.key;
}

/**
 * Writes a changelog into an upsert sink: keyed by the sink's primary key first, so every
 * change of one key reaches the same sink subtask in order (the last one written wins).
 */
export function sinkChangelog(input: DataStream<ChangeRow>, sink: UpsertSink): OperatorHandle {
  const key = sink[UPSERT].key;
  return input.keyBy((c: ChangeRow) => keyOf(c.row, key)).sinkTo(sink);
}

/** The primary-key values of a row, as the key of keyBy and of the upsert. */
export function keyOf(row: Row, key: readonly string[]): unknown[] {
  const k = new Array<unknown>(key.length);
  for (let i = 0; i < key.length; i++) k[i] = row[key[i]] ?? null;
  return k;
}
