/**
 * A PostgreSQL table as an upsert sink of a changelog: +I/+U become INSERT … ON CONFLICT DO
 * UPDATE, -D a DELETE by primary key, -U nothing (the +U after it overwrites the key).
 */
import { postgres, type PostgresSinkOptions } from '../../connectors/postgres/sink.js';
import { EddyError } from '../../failure.js';
import type { ChangeRow } from './changelog.js';
import { markUpsertSink, withoutUpdateBefore, type UpsertSink } from './sink-modes.js';

/** Options of {@link postgresUpsertSink}: those of `Sinks.postgres` without mode and row mapping; `key` is required. */
export type PostgresUpsertOptions = Omit<PostgresSinkOptions<ChangeRow>, 'mode' | 'row' | 'isDelete'> & { key: string[] };

/**
 * The changelog into a PostgreSQL table with a unique index on `key` (the 'upsert' mode of
 * `Sinks.postgres` taking deletes). Exactly-once in its final state by idempotence: a replay
 * after a restore applies the same changes again. Write to it with `sinkChangelog`.
 */
export function postgresUpsertSink(opts: PostgresUpsertOptions): UpsertSink {
  if (!Array.isArray(opts?.key) || opts.key.length === 0) {
    throw new EddyError('JOB_INVALID', `${opts?.name ?? 'postgres'}: an upsert sink needs key, the primary key columns of the table`);
  }
  const columns = opts.columns;
  const sink = postgres<ChangeRow>({
    ...opts,
    mode: 'upsert',
    row: (c) => columns.map((col) => c.row[col] ?? null),
    isDelete: (c) => c.kind === '-D',
  });
  return markUpsertSink(withoutUpdateBefore(sink), opts.key);
}
