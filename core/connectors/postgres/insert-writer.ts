/**
 * The writer of the exactly-once and at-least-once modes of `Sinks.postgres` (see sink.ts):
 * batched multi-row INSERTs on one connection, statement after statement, sealed at each
 * barrier by PREPARE TRANSACTION (exactly-once) or by waiting for the inserts (at-least-once).
 */
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import type { EddyError } from '../../failure.js';
import type { ConnectorContext, SinkWriter } from '../types.js';
import { connect, disconnect, pgErrorCode, pgFailure, type PgTarget } from './connection.js';
import { flatten, type InsertStatements } from './insert.js';

/** What the checkpoint keeps per sealed transaction: the gid of the prepared transaction. */
export type PostgresCommitHandle = string;

/** Field 3 of a gid (after the prefix) is the subtask that prepared it. */
function gidSubtask(gid: string, prefix: string): number {
  return Number(gid.slice(prefix.length).split(':')[0]);
}

function sqlLiteral(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/**
 * Inserts in batches on one connection, statement after statement. With a gid prefix the rows
 * between barriers form a transaction that the barrier prepares (exactly-once); without, each
 * batch commits on its own (at-least-once).
 */
export class InsertWriter<T> implements SinkWriter<T> {
  private writer: pg.Client | undefined;
  private committer: pg.Client | undefined;
  private buffer: unknown[][] = [];
  /** The last statement queued; each next one runs after it. */
  private chain: Promise<void> = Promise.resolve();
  /** The first failure of a queued statement; nothing runs after it. */
  private failure: EddyError | undefined;
  /** A transaction is open on the writer connection (exactly-once). */
  private inTransaction = false;
  /** Random per writer, in every gid: a gid is never reused, even by a later process. */
  private readonly runToken = randomBytes(4).toString('hex');
  private readonly where: { operatorUid: string; subtask: number };

  constructor(
    private readonly ctx: ConnectorContext,
    private readonly target: PgTarget,
    private readonly toRow: (v: T) => unknown[],
    private readonly batchRows: number,
    private readonly statements: InsertStatements,
    /** Set for exactly-once: the prefix of this sink's gids. */
    private readonly gidPrefix: string | undefined,
  ) {
    this.where = { operatorUid: ctx.operatorUid, subtask: ctx.subtaskIndex };
  }

  async open(): Promise<void> {
    this.writer = await connect(this.target, this.where);
    if (this.gidPrefix !== undefined) await this.rollBackStale();
  }

  write(value: T): void {
    if (this.failure) throw this.failure;
    this.buffer.push(this.toRow(value));
    if (this.buffer.length >= this.batchRows) this.flush();
  }

  /** The barrier: everything before it is inserted, and (exactly-once) prepared under a new gid. */
  async prepareCommit(checkpointId: number): Promise<PostgresCommitHandle[]> {
    this.flush();
    let gid: string | undefined;
    if (this.gidPrefix !== undefined && this.inTransaction) {
      const g = `${this.gidPrefix}${this.ctx.subtaskIndex}:${checkpointId}:${this.runToken}`;
      gid = g;
      this.inTransaction = false;
      this.enqueue((c) => c.query(`PREPARE TRANSACTION ${sqlLiteral(g)}`));
    }
    await this.settled();
    return gid === undefined ? [] : [gid];
  }

  async commit(handles: unknown[]): Promise<void> {
    const gids = handles.flat(2).filter((h): h is string => typeof h === 'string');
    if (gids.length === 0) return;
    const c = await this.committerClient();
    for (const gid of gids) {
      try {
        await c.query(`COMMIT PREPARED ${sqlLiteral(gid)}`);
      } catch (err) {
        // Already committed (by the run before a failure, or by a previous restore).
        if (pgErrorCode(err) === '42704') continue;
        throw pgFailure(err, this.target, this.where);
      }
    }
  }

  /** End of a bounded job without checkpointing: commit what is open. */
  async finish(): Promise<void> {
    this.flush();
    if (this.inTransaction) {
      this.inTransaction = false;
      this.enqueue((c) => c.query('COMMIT'));
    }
    await this.settled();
  }

  async abort(): Promise<void> {
    this.buffer = [];
    // Statements still running finish (or fail) first; closing the connection then rolls back
    // the open transaction. Prepared ones stay: the restore decides (see the module comment).
    await this.chain;
  }

  async close(): Promise<void> {
    await this.chain;
    await disconnect(this.writer);
    await disconnect(this.committer);
  }

  private flush(): void {
    if (this.buffer.length === 0) return;
    const rows = this.buffer;
    this.buffer = [];
    if (this.gidPrefix !== undefined && !this.inTransaction) {
      this.inTransaction = true;
      this.enqueue((c) => c.query('BEGIN'));
    }
    for (let i = 0; i < rows.length; i += this.batchRows) {
      const part = i === 0 && rows.length <= this.batchRows ? rows : rows.slice(i, i + this.batchRows);
      this.enqueue((c) => c.query(this.statements.text(part.length), flatten(part)));
    }
  }

  private enqueue(statement: (c: pg.Client) => Promise<unknown>): void {
    this.chain = this.chain.then(async () => {
      if (this.failure) return;
      try {
        if (!this.writer) this.writer = await connect(this.target, this.where);
        await statement(this.writer);
      } catch (err) {
        this.failure = pgFailure(err, this.target, this.where);
      }
    });
  }

  /** Waits for every queued statement; rejects with the first failure. */
  private async settled(): Promise<void> {
    await this.chain;
    if (this.failure) throw this.failure;
  }

  private async committerClient(): Promise<pg.Client> {
    // commit() runs before open() on a restore: connect on first use.
    if (!this.committer) this.committer = await connect(this.target, this.where);
    return this.committer;
  }

  /**
   * Rolls back this job's prepared transactions of this sink that belong to no completed
   * checkpoint (those of the restored one were committed before open). Each is owned by one
   * subtask — the one at (the subtask that prepared it) mod (the parallelism now) — so
   * subtasks never roll back each other's, at any parallelism. Runs before this subtask
   * prepares anything.
   */
  private async rollBackStale(): Promise<void> {
    const c = await this.committerClient();
    const prefix = this.gidPrefix!;
    try {
      const r = await c.query<{ gid: string }>(
        'SELECT gid FROM pg_prepared_xacts WHERE database = current_database() AND starts_with(gid, $1) ORDER BY prepared',
        [prefix],
      );
      for (const { gid } of r.rows) {
        const s = gidSubtask(gid, prefix);
        if (!Number.isInteger(s) || s % this.ctx.parallelism !== this.ctx.subtaskIndex) continue;
        try {
          await c.query(`ROLLBACK PREPARED ${sqlLiteral(gid)}`);
        } catch (err) {
          if (pgErrorCode(err) !== '42704') throw err;
        }
      }
    } catch (err) {
      throw pgFailure(err, this.target, this.where);
    }
  }
}
