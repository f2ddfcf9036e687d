/**
 * `Sources.postgres(...)`: the rows of a table (or a query) in order of an increasing column,
 * with the position in the checkpoint, bounded or continuous.
 *
 * Why not simply `WHERE id > $last ORDER BY id`: ids are handed out when a row is inserted,
 * not when its transaction commits. A slow writer takes id 1, a fast one commits id 2, the
 * reader moves past 2, then 1 commits — and is skipped forever. So the table carries the id of
 * the inserting transaction (`txid xid8 NOT NULL DEFAULT pg_current_xact_id()`) and the reader
 * orders by (txid, id) and reads only rows of transactions older than the oldest one still
 * running (`txid < pg_snapshot_xmin(pg_current_snapshot())`): no row can appear behind the
 * position any more. A long transaction holds the reader back (so do the prepared
 * transactions of an exactly-once PostgreSQL sink on the same server, by one checkpoint).
 *
 * Bounded: the rows visible in the snapshot taken when the job first starts (kept in the
 * checkpoint, so a restore reads up to the same rows). Continuous: polls every `pollMs`.
 *
 * Parallelism 1: one reader keeps one position (a table is one ordered log here).
 */
import type pg from 'pg';
import type { Collector } from '../../contract/functions.js';
import { EddyError } from '../../failure.js';
import type { ConnectorContext, PollStatus, Source, SourceReader } from '../types.js';
import { connect, describeRelation, describeServer, disconnect, pgFailure, quoteIdent, type PgTarget } from './connection.js';

/** Type id of xid8 in pg_type. */
const XID8_OID = 5069;
const DEFAULT_POLL_MS = 200;

/** Options of `Sources.postgres`. */
export interface PostgresSourceOptions {
  /** e.g. `postgres://user@127.0.0.1:5432/db`. */
  connectionString: string;
  /** The table to read (optionally `schema.table`); or give `query`. */
  table?: string;
  /** A SELECT whose rows are read (it must return the `column` and `txidColumn` columns). */
  query?: string;
  /** The increasing column that orders rows (a serial or identity id). */
  column: string;
  /**
   * The xid8 column holding the inserting transaction (`txid xid8 NOT NULL DEFAULT
   * pg_current_xact_id()`). Default 'txid'. `null` reads by `column` alone, which is safe only
   * when rows commit in `column` order (a single writer).
   */
  txidColumn?: string | null;
  /** Stop after the rows present at the first start (default), or keep polling. */
  bounded?: boolean;
  /** Continuous: how long to wait when no new row is there. Default 200 ms. */
  pollMs?: number;
  /** Default name of the source operator. Default 'postgres'. */
  name?: string;
}

/** The reader's position, kept in checkpoints: the last row read and, if bounded, the bound. */
export interface PostgresSourceState {
  /** The xid8 (as text) of the last row read, or null before the first row or without a txid column. */
  txid: string | null;
  /** The `column` value of the last row read, or null before the first row. */
  last: unknown;
  /** Bounded with a txid column: the snapshot (pg_snapshot text) whose rows are read. */
  snapshot?: string;
  /** Bounded without a txid column: the largest `column` value at the first start. */
  upTo?: unknown;
}

function isState(s: unknown): s is PostgresSourceState {
  return typeof s === 'object' && s !== null && 'last' in s && 'txid' in s;
}

/** The rows of a PostgreSQL table or query, in order; see the module comment. */
export function postgres<T = Record<string, unknown>>(opts: PostgresSourceOptions): Source<T> {
  const name = opts?.name ?? 'postgres';
  const bad = (m: string): never => {
    throw new EddyError('JOB_INVALID', `${name} source: ${m}`);
  };
  if (typeof opts?.connectionString !== 'string' || opts.connectionString === '')
    bad('connectionString must be a PostgreSQL connection string');
  if ((opts.table === undefined) === (opts.query === undefined)) bad('give exactly one of table or query');
  if (typeof opts.column !== 'string' || opts.column === '') bad('column must name the increasing column that orders rows');
  if (opts.pollMs !== undefined && !(opts.pollMs > 0)) bad(`pollMs must be a positive number of milliseconds, got ${opts.pollMs}`);
  const txid = opts.txidColumn === undefined ? 'txid' : opts.txidColumn;
  const bounded = opts.bounded ?? true;
  const target: PgTarget = { connectionString: opts.connectionString, role: 'source', name: `${name} source` };
  const from = opts.table !== undefined ? quoteIdent(opts.table) : `(${opts.query}) AS eddy_q`;
  const what = opts.table !== undefined ? `table '${opts.table}'` : 'the query';
  return {
    kind: name,
    stateful: true,
    bounded,
    maxParallelism: 1,
    async validate() {
      const client = await connect(target);
      try {
        const types = await describeRelation(client, target, from, what);
        if (!types.has(opts.column)) throw new EddyError('INPUT_NOT_FOUND', `${target.name}: ${what} has no column '${opts.column}'`);
        if (txid !== null && types.get(txid) !== XID8_OID) {
          throw new EddyError(
            'INPUT_NOT_FOUND',
            `${target.name}: ${what} on PostgreSQL at ${describeServer(opts.connectionString)} has no xid8 column '${txid}' (add it: ALTER TABLE … ADD COLUMN ${txid} xid8 NOT NULL DEFAULT pg_current_xact_id()), or set txidColumn: null for a single writer`,
          );
        }
      } catch (err) {
        throw pgFailure(err, target);
      } finally {
        await disconnect(client);
      }
    },
    createReader(ctx: ConnectorContext): SourceReader<T> {
      return new PostgresReader<T>(target, from, opts.column, txid, bounded, opts.pollMs ?? DEFAULT_POLL_MS, {
        operatorUid: ctx.operatorUid,
        subtask: ctx.subtaskIndex,
      });
    },
  };
}

class PostgresReader<T> implements SourceReader<T> {
  private client: pg.Client | undefined;
  private state: PostgresSourceState = { txid: null, last: null };
  private restored = false;
  readonly idleMs: number;

  constructor(
    private readonly target: PgTarget,
    private readonly from: string,
    private readonly column: string,
    private readonly txid: string | null,
    private readonly bounded: boolean,
    pollMs: number,
    private readonly where: { operatorUid: string; subtask: number },
  ) {
    this.idleMs = pollMs;
  }

  restoreState(state: unknown): void {
    // Parallelism 1: a list (after a rescale) holds the one old reader's state.
    const s = Array.isArray(state) ? state[0] : state;
    if (s === undefined || s === null) return;
    if (!isState(s))
      throw new EddyError(
        'STATE_FAILED',
        `${this.target.name}: restored position is malformed: ${JSON.stringify(s)?.slice(0, 200)}`,
        this.where,
      );
    this.state = { ...s };
    this.restored = true;
  }

  snapshotState(): PostgresSourceState {
    return { ...this.state };
  }

  async open(): Promise<void> {
    this.client = await connect(this.target, this.where);
    if (!this.bounded || this.restored) return;
    // The bound is fixed at the first start and travels in checkpoints.
    try {
      if (this.txid !== null) {
        const r = await this.client.query<{ s: string }>('SELECT pg_current_snapshot()::text AS s');
        this.state.snapshot = r.rows[0].s;
      } else {
        const r = await this.client.query<{ m: unknown }>(`SELECT max(${quoteIdent(this.column)}) AS m FROM ${this.from}`);
        this.state.upTo = r.rows[0].m;
      }
    } catch (err) {
      throw pgFailure(err, this.target, this.where);
    }
  }

  async poll(out: Collector<T>, max: number): Promise<PollStatus> {
    const { text, params } = this.query(max);
    let rows: Record<string, unknown>[];
    try {
      rows = (await this.client!.query(text, params)).rows;
    } catch (err) {
      throw pgFailure(err, this.target, this.where);
    }
    const col = this.column;
    const tx = this.txid;
    for (const row of rows) {
      out.collect(row as T);
      // Position moves record by record: a snapshot at the next barrier is exactly after it.
      this.state.last = row[col];
      if (tx !== null) this.state.txid = row[tx] as string;
    }
    if (rows.length > 0) return 'more';
    return this.bounded ? 'end' : 'idle';
  }

  async close(): Promise<void> {
    await disconnect(this.client);
  }

  private query(limit: number): { text: string; params: unknown[] } {
    const c = quoteIdent(this.column);
    const s = this.state;
    const params: unknown[] = [];
    const where: string[] = [];
    let order: string;
    if (this.txid === null) {
      if (s.last !== null) where.push(`${c} > $${params.push(s.last)}`);
      if (this.bounded) where.push(s.upTo === null ? 'false' : `${c} <= $${params.push(s.upTo)}`);
      order = c;
    } else {
      const t = quoteIdent(this.txid);
      if (s.txid !== null) where.push(`(${t}, ${c}) > ($${params.push(s.txid)}::xid8, $${params.push(s.last)})`);
      // Only rows of finished transactions: none can commit behind the position later.
      where.push(
        this.bounded
          ? `pg_visible_in_snapshot(${t}, $${params.push(s.snapshot)}::pg_snapshot)`
          : `${t} < pg_snapshot_xmin(pg_current_snapshot())`,
      );
      order = `${t}, ${c}`;
    }
    return {
      text: `SELECT * FROM ${this.from}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY ${order} LIMIT ${limit}`,
      params,
    };
  }
}
