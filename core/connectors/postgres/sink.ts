/**
 * `Sinks.postgres(...)`: rows into a PostgreSQL table, in one of three modes.
 *
 * 'exactly-once' (the default) is a true two-phase-commit sink. Each subtask writes the rows
 * between two barriers in one transaction on its writer connection; at the barrier it
 * `PREPARE TRANSACTION`s it under a global id (gid) naming the job, the sink, the subtask and
 * the checkpoint, and the gid goes into the checkpoint. Once the checkpoint completes, a
 * second connection `COMMIT PREPARED`s it (COMMIT PREPARED cannot run inside the writer's
 * next transaction). A prepared transaction survives the client, the eddy process and a
 * server restart, so:
 *   - on restore, the runtime hands back the gids of the restored checkpoint and they are
 *     committed (a gid already committed answers 42704 "does not exist": done);
 *   - then `open` rolls back every other prepared transaction of this job and sink that this
 *     subtask owns (prepared for a checkpoint that never completed): their rows are replayed.
 * Nothing is rolled back on failure (`abort`): a gid whose checkpoint completed just before
 * the failure must stay committable by the restore.
 * The server must allow prepared transactions: `max_prepared_transactions` (0 by default)
 * at least the sink's parallelism × 2 (a transaction per subtask waits for its commit while
 * the next one prepares). `validate` refuses 0 with a line saying so. A prepared transaction
 * holds its row locks until committed (one checkpoint later), so the table should take
 * inserts only: a unique index would block a writer on a key its previous checkpoint wrote.
 *
 * 'at-least-once': rows are inserted in autocommitted batches as they come; each barrier waits
 * until all rows before it are in. A restore replays the rows after its checkpoint: duplicates.
 *
 * 'upsert': `INSERT … ON CONFLICT (key) DO UPDATE` through the idempotent sink: a replay
 * overwrites rows with the same values, so the table ends exact when the values are
 * deterministic (needs a unique index on `key`). With `isDelete`, such records DELETE their key
 * instead, so a changelog (the SQL runtime's postgresUpsertSink) ends exact the same way.
 *
 * Writes never block the record loop: rows are buffered and inserted in batches by one chain
 * of statements per subtask, in order. A failed statement fails the task at the next record or
 * barrier.
 */
import { createHash } from 'node:crypto';
import { EddyError } from '../../failure.js';
import type { ConnectorContext, Sink, SinkWriter } from '../types.js';
import { connect, describeRelation, describeServer, disconnect, pgFailure, quoteIdent, type PgTarget } from './connection.js';
import { DEFAULT_BATCH_ROWS, InsertStatements, maxBatchRows } from './insert.js';
import { InsertWriter } from './insert-writer.js';
import { upsertWriter } from './upsert-writer.js';

/** How the PostgreSQL sink writes: see `Sinks.postgres`. */
export type PostgresSinkMode = 'exactly-once' | 'at-least-once' | 'upsert';

/** Options of `Sinks.postgres`. */
export interface PostgresSinkOptions<T> {
  /** e.g. `postgres://user@127.0.0.1:5432/db`. */
  connectionString: string;
  /** Target table, optionally schema-qualified (`schema.table`). It must exist. */
  table: string;
  /** Columns written, in order. */
  columns: string[];
  /** Default 'exactly-once'. */
  mode?: PostgresSinkMode;
  /** The column values of a record, in `columns` order. Default: `columns.map((c) => value[c])`. */
  row?: (value: T) => unknown[];
  /** 'upsert': the conflict target (columns of a unique index). */
  key?: string[];
  /** 'upsert': records for which this is true delete the row with their key instead (a changelog's -D). */
  isDelete?: (value: T) => boolean;
  /** Rows per INSERT statement. Default 500. */
  batchRows?: number;
  /**
   * Names this job's prepared transactions, so a restore rolls back its own and nobody
   * else's. Default: derived from the checkpoint directory (stable across `--resume`).
   */
  jobId?: string;
  /**
   * Column definitions to create the table with when it does not exist (before the job
   * starts), e.g. `'seq bigint, key int, sum bigint'`. Default: the table must exist.
   */
  createIfMissing?: string;
  /** Default name of the sink operator. Default 'postgres'. */
  name?: string;
}

export type { PostgresCommitHandle } from './insert-writer.js';

const GID_PREFIX = 'eddy';

/** `eddy:<job>:<sink>:` — the part of a gid shared by every transaction of one sink of one job. */
function gidPrefix(jobId: string, operatorUid: string): string {
  const sink = createHash('sha256').update(operatorUid).digest('hex').slice(0, 12);
  return `${GID_PREFIX}:${jobId.replace(/[^A-Za-z0-9_-]/g, '_')}:${sink}:`;
}

function checkOptions<T>(opts: PostgresSinkOptions<T>, name: string): void {
  const bad = (m: string): never => {
    throw new EddyError('JOB_INVALID', `${name}: ${m}`);
  };
  if (typeof opts?.connectionString !== 'string' || opts.connectionString === '')
    bad('connectionString must be a PostgreSQL connection string (postgres://user@host:port/db)');
  if (typeof opts.table !== 'string' || opts.table === '') bad('table must name the target table');
  if (!Array.isArray(opts.columns) || opts.columns.length === 0 || !opts.columns.every((c) => typeof c === 'string' && c !== ''))
    bad('columns must be a non-empty list of column names');
  const mode = opts.mode ?? 'exactly-once';
  if (!['exactly-once', 'at-least-once', 'upsert'].includes(mode))
    bad(`mode must be 'exactly-once', 'at-least-once' or 'upsert', got '${mode}'`);
  if (opts.isDelete !== undefined && (mode !== 'upsert' || typeof opts.isDelete !== 'function'))
    bad("isDelete must be a function of the record, in mode 'upsert' only");
  if (mode === 'upsert' && (!Array.isArray(opts.key) || opts.key.length === 0 || !opts.key.every((k) => opts.columns.includes(k)))) {
    bad("mode 'upsert' needs key: the columns of a unique index, all among columns");
  }
  const max = maxBatchRows(opts.columns.length);
  if (opts.batchRows !== undefined && !(Number.isSafeInteger(opts.batchRows) && opts.batchRows > 0 && opts.batchRows <= max)) {
    bad(`batchRows must be an integer from 1 to ${max}, got ${opts.batchRows}`);
  }
}

/**
 * A PostgreSQL table as a sink. See the module comment for the modes; the README's
 * "PostgreSQL" section says what to configure on the server.
 */
export function postgres<T>(opts: PostgresSinkOptions<T>): Sink<T> {
  const name = opts?.name ?? 'postgres';
  checkOptions(opts, name);
  const mode = opts.mode ?? 'exactly-once';
  const target: PgTarget = { connectionString: opts.connectionString, role: 'sink', name: `${name} sink` };
  const columns = [...opts.columns];
  const toRow = opts.row ?? ((v: T) => columns.map((c) => (v as Record<string, unknown>)[c]));
  const batchRows = Math.min(opts.batchRows ?? DEFAULT_BATCH_ROWS, maxBatchRows(columns.length));
  const statements = () => new InsertStatements({ table: opts.table, columns, conflictKey: mode === 'upsert' ? opts.key : undefined });
  return {
    kind: name,
    // Exactly-once keeps gids in checkpoints; the other modes need the barrier (prepareCommit).
    stateful: true,
    async validate() {
      const client = await connect(target);
      try {
        if (opts.createIfMissing !== undefined)
          await client.query(`CREATE TABLE IF NOT EXISTS ${quoteIdent(opts.table)} (${opts.createIfMissing})`);
        const types = await describeRelation(client, target, quoteIdent(opts.table), `table '${opts.table}'`);
        const missing = columns.filter((c) => !types.has(c));
        if (missing.length > 0) {
          throw new EddyError(
            'OUTPUT_FAILED',
            `${target.name}: table '${opts.table}' on PostgreSQL at ${describeServer(opts.connectionString)} has no column ${missing.map((m) => `'${m}'`).join(', ')}`,
          );
        }
        if (mode === 'exactly-once') {
          const r = await client.query('SHOW max_prepared_transactions');
          const n = Number(r.rows[0]?.max_prepared_transactions ?? 0);
          if (!(n > 0)) {
            throw new EddyError(
              'SINK_FAILED',
              `${target.name}: exactly-once needs prepared transactions, but max_prepared_transactions is 0 on PostgreSQL at ${describeServer(opts.connectionString)}; set it (at least 2 × the sink's parallelism) in postgresql.conf and restart the server, or use mode 'at-least-once' or 'upsert'`,
            );
          }
        }
      } catch (err) {
        throw pgFailure(err, target);
      } finally {
        await disconnect(client);
      }
    },
    createWriter(ctx: ConnectorContext): SinkWriter<T> {
      if (mode === 'upsert') return upsertWriter(ctx, target, opts, toRow, batchRows, statements());
      const prefix = gidPrefix(opts.jobId ?? ctx.jobKey ?? 'job', ctx.operatorUid);
      return new InsertWriter<T>(ctx, target, toRow, batchRows, statements(), mode === 'exactly-once' ? prefix : undefined);
    },
  };
}
