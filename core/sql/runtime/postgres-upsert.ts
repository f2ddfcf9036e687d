/**
 * A PostgreSQL table as an upsert sink of a changelog: +I/+U become INSERT … ON CONFLICT DO
 * UPDATE, -D a DELETE by primary key, -U nothing (the +U after it overwrites the key).
 */
import type { PostgresSinkOptions } from '../../connectors/postgres/sink.js';
import type { ChangeRow } from './changelog.js';
import type { UpsertSink } from './sink-modes.js';

/** Options of {@link postgresUpsertSink}: those of `Sinks.postgres` without mode and row mapping; `key` is required. */
export type PostgresUpsertOptions = Omit<PostgresSinkOptions<ChangeRow>, 'mode' | 'row'> & { key: string[] };

/**
 * The changelog into a PostgreSQL table with a unique index on `key` (the 'upsert' mode of
 * `Sinks.postgres` taking deletes). Exactly-once in its final state by idempotence: a replay
 * after a restore applies the same changes again.
 */
export function postgresUpsertSink(opts: PostgresUpsertOptions): UpsertSink {
  void opts;
  throw new Error('todo');
}
