/**
 * Which sinks take a changelog with updates and deletes. An append sink (files, print, Kafka-
 * like logs) would write retractions as rows; the planner refuses such a query at that sink.
 */
import type { DataStream, OperatorHandle } from '../../api/datastream.js';
import type { Sink, SinkWriter } from '../../connectors/types.js';
import type { ChangeRow, Row } from './changelog.js';

const UPSERT = Symbol.for('eddy.sql.upsertSink');

/** A sink marked as taking a changelog of ChangeRow: upserts and deletes by `key`, or (key empty) every change as it is. */
export type UpsertSink = Sink<ChangeRow> & { readonly [UPSERT]: { key: readonly string[] } };

/** Marks `sink` as taking a changelog, upserting by the primary key `key` (empty: retract mode, every change kept). */
export function markUpsertSink(sink: Sink<ChangeRow>, key: readonly string[]): UpsertSink {
  return Object.assign(sink, { [UPSERT]: { key: [...key] } }) as UpsertSink;
}

/** `sink` without the -U of the changelog it is given: for upsert writers, where the +U after a -U overwrites its key. */
export function withoutUpdateBefore(sink: Sink<ChangeRow>): Sink<ChangeRow> {
  return {
    ...sink,
    async createWriter(ctx) {
      const w = await sink.createWriter(ctx);
      const writer: SinkWriter<ChangeRow> = {
        open: () => w.open?.(),
        write: (c: ChangeRow) => {
          if (c.kind !== '-U') w.write(c);
        },
        finish: () => w.finish(),
        abort: () => w.abort?.(),
        close: () => w.close?.(),
      };
      // Optional steps stay absent when the writer has none: the runtime checks for them.
      if (w.prepareCommit) writer.prepareCommit = (id: number) => w.prepareCommit!(id);
      if (w.commit) writer.commit = (handles: unknown[]) => w.commit!(handles);
      return writer;
    },
  };
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
 * Writes a changelog into a sink that takes one: keyed by the sink's primary key first, so
 * every change of one key reaches the same sink subtask in order (the last one written wins);
 * a retract-mode sink (no key) takes the stream as it is. Give the result a uid.
 */
export function sinkChangelog(input: DataStream<ChangeRow>, sink: UpsertSink): OperatorHandle {
  const key = sink[UPSERT].key;
  if (key.length === 0) return input.sinkTo(sink);
  return input.keyBy((c: ChangeRow) => keyOf(c.row, key)).sinkTo(sink);
}

/** The primary-key values of a row, as the key of keyBy and of the upsert. */
export function keyOf(row: Row, key: readonly string[]): unknown[] {
  const k = new Array<unknown>(key.length);
  for (let i = 0; i < key.length; i++) k[i] = row[key[i]] ?? null;
  return k;
}
