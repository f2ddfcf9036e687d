/** The 'upsert' mode of `Sinks.postgres` (see sink.ts), built on the idempotent sink. */
import type pg from 'pg';
import { idempotent } from '../sinks/idempotent.js';
import type { ConnectorContext, SinkWriter } from '../types.js';
import { connect, disconnect, pgFailure, type PgTarget } from './connection.js';
import { DeleteStatements, flatten, type InsertStatements } from './insert.js';
import type { PostgresSinkOptions } from './sink.js';

/** A record as the idempotent writer keeps it: its column values, and whether it deletes its key. */
interface Change {
  row: unknown[];
  del: boolean;
}

/**
 * 'upsert': the idempotent sink, its upserts as INSERT … ON CONFLICT on this writer's
 * connection and, with `isDelete`, its deletes as DELETE … WHERE key IN (…). The writer keeps
 * only the latest change per key within a batch, so the deletes and the upserts of one batch are
 * of different keys and their order does not matter.
 */
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
  const isDelete = opts.isDelete;
  const deletes = new DeleteStatements(opts.table, opts.key!);
  const upsert = async (entries: [string, Change][]) => {
    try {
      if (!client) client = await connect(target, where);
      const rows = entries.filter((e) => !e[1].del).map((e) => e[1].row);
      const gone = entries.filter((e) => e[1].del).map((e) => keyAt.map((k) => e[1].row[k]));
      for (let i = 0; i < rows.length; i += batchRows) {
        const batch = rows.slice(i, i + batchRows);
        await client.query(statements.text(batch.length), flatten(batch));
      }
      for (let i = 0; i < gone.length; i += batchRows) {
        const batch = gone.slice(i, i + batchRows);
        await client.query(deletes.text(batch.length), flatten(batch));
      }
    } catch (err) {
      throw pgFailure(err, target, where);
    }
  };
  // The idempotent writer coalesces by key within a batch (one row may not be updated twice
  // by one INSERT … ON CONFLICT); rows are converted first, so the key is read from the row.
  const inner = idempotent<Change, string>({
    name: target.name,
    key: (c) => JSON.stringify(keyAt.map((k) => c.row[k])),
    upsert,
    flushEvery: batchRows,
  }).createWriter(ctx) as SinkWriter<Change>;
  return {
    async open() {
      client = await connect(target, where);
    },
    write: (v: T) => inner.write({ row: toRow(v), del: isDelete !== undefined && isDelete(v) }),
    prepareCommit: (id: number) => inner.prepareCommit!(id),
    finish: () => inner.finish(),
    abort: () => inner.abort?.(),
    async close() {
      await inner.close?.();
      await disconnect(client);
    },
  };
}
