/** The 'upsert' mode of `Sinks.postgres` (see sink.ts), built on the idempotent sink. */
import type pg from 'pg';
import { idempotent } from '../sinks/idempotent.js';
import type { ConnectorContext, SinkWriter } from '../types.js';
import { connect, disconnect, pgFailure, type PgTarget } from './connection.js';
import { flatten, type InsertStatements } from './insert.js';
import type { PostgresSinkOptions } from './sink.js';

/** 'upsert': the idempotent sink, its upserts as INSERT … ON CONFLICT on this writer's connection. */
export function upsertWriter<T>(
  ctx: ConnectorContext,
  target: PgTarget,
  opts: PostgresSinkOptions<T>,
  toRow: (v: T) => unknown[],
  batchRows: number,
  statements: InsertStatements,
): SinkWriter<T> {
  const where = { operatorUid: ctx.operatorUid, subtask: ctx.subtaskIndex };
  const keyAt = opts.key!.map((k) => opts.columns.indexOf(k));
  let client: pg.Client | undefined;
  const upsert = async (entries: [string, unknown[]][]) => {
    try {
      if (!client) client = await connect(target, where);
      for (let i = 0; i < entries.length; i += batchRows) {
        const rows = entries.slice(i, i + batchRows).map((e) => e[1]);
        await client.query(statements.text(rows.length), flatten(rows));
      }
    } catch (err) {
      throw pgFailure(err, target, where);
    }
  };
  // The idempotent writer coalesces by key within a batch (one row may not be updated twice
  // by one INSERT … ON CONFLICT); rows are converted first, so the key is read from the row.
  const inner = idempotent<unknown[], string>({
    name: target.name,
    key: (row) => JSON.stringify(keyAt.map((k) => row[k])),
    upsert,
    flushEvery: batchRows,
  }).createWriter(ctx) as SinkWriter<unknown[]>;
  return {
    async open() {
      client = await connect(target, where);
    },
    write: (v: T) => inner.write(toRow(v)),
    prepareCommit: (id: number) => inner.prepareCommit!(id),
    finish: () => inner.finish(),
    abort: () => inner.abort?.(),
    async close() {
      await inner.close?.();
      await disconnect(client);
    },
  };
}
