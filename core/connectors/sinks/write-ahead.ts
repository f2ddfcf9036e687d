/**
 * The write-ahead sink (Flink's GenericWriteAheadSink): for targets that cannot take part in
 * a transaction (a plain file, an HTTP endpoint, a database without the means to prepare).
 *
 * Records are not written when they arrive. At each checkpoint barrier the records since the
 * previous barrier are sealed into a handle that carries them (so they live in the
 * checkpoint, like the collect sink's); once that checkpoint completes, the handle's records
 * are handed to the user's `write`, batch after batch in checkpoint order. So the target
 * sees only records whose checkpoint completed: a failure never exposes records that a
 * restore will replay.
 *
 * What it guarantees, honestly: at-least-once delivery of every batch, not exactly-once.
 * After a restore the runtime commits the restored checkpoint's handles again (it cannot know
 * whether `write` already ran for them: a failure can strike after `write` returned but
 * before the runtime recorded it, and in practice every restore re-commits the batches of
 * the checkpoint it restores, which were usually written already). The re-commit carries the
 * same handle ids, so it can be recognised: `write` receives `{ id, checkpointId }` as its
 * third argument, and a target that records which ids it has taken (a ledger next to the
 * data, a column in the same database transaction, ...) can skip a batch it already has,
 * which makes the whole exactly-once. Flink's write-ahead sink has the same window and the
 * same remedy (its CheckpointCommitter).
 *
 * Costs: the records of one checkpoint interval are held in memory and then in the
 * checkpoint, and they reach the target only after their checkpoint completes (latency of
 * about one checkpoint interval). Records must survive the checkpoint's encoding (plain
 * data: no functions, class instances come back as plain objects).
 *
 * Without checkpointing there is no barrier: finish() writes everything at the end of a
 * bounded job, as one batch with an id and no checkpoint id.
 */
import { randomBytes } from 'node:crypto';
import { EddyError, messageOf } from '../../failure.js';
import type { ConnectorContext, Sink, SinkWriter } from '../types.js';

/** What `write` learns about the batch it is given. */
export interface WriteAheadBatch {
  /**
   * Unique across subtasks, attempts and processes, and stable: a re-commit of the same
   * batch after a restore carries the same id. The key for skipping batches already written.
   */
  id: string;
  /** The checkpoint the batch was sealed in; undefined for the batch written by finish(). */
  checkpointId?: number;
  /**
   * The writer that sealed the batch (unique per subtask, attempt and process) and the batch's
   * place among that writer's batches (0, 1, 2, ...): `id` is `${writer}/${seq}`. A writer's
   * batches are written in seq order, so "the last seq written for this writer" is a complete
   * ledger of what a target already has (what the Redis and JetStream sinks keep).
   */
  writer: string;
  seq: number;
}

export interface WriteAheadOptions<T> {
  /** Default name of the sink operator. Default 'writeAhead'. */
  name?: string;
  /** Writes one batch, in order. May be called again with the same `batch.id` after a restore. */
  write: (records: T[], ctx: ConnectorContext, batch: WriteAheadBatch) => Promise<void> | void;
}

/** One sealed batch, as kept in a checkpoint. */
export interface WriteAheadHandle {
  id: string;
  checkpointId: number;
  records: unknown[];
}

/**
 * How many ids of batches this writer wrote it remembers, to skip a commit repeated within
 * the same writer without growing forever; a re-commit after a restore meets a new writer
 * and is the user's to recognise anyway.
 */
const REMEMBERED_IDS = 1024;

function isHandle(h: unknown): h is WriteAheadHandle {
  const w = h as WriteAheadHandle;
  return typeof w === 'object' && w !== null && typeof w.id === 'string' && typeof w.checkpointId === 'number' && Array.isArray(w.records);
}

/** Handles as the runtime passes them back (what prepareCommit returned, per checkpoint), in order. */
function flattenHandles(name: string, handles: unknown[], into: WriteAheadHandle[] = []): WriteAheadHandle[] {
  for (const h of handles) {
    if (h == null) continue;
    if (Array.isArray(h)) flattenHandles(name, h, into);
    else if (isHandle(h)) into.push(h);
    else throw new EddyError('SINK_FAILED', `${name}: malformed commit handle ${JSON.stringify(h)?.slice(0, 200)}`);
  }
  return into;
}

/** A batch id is `${writer}/${seq}` (the writer's runId holds '/' itself, the seq does not). */
function batchOf(id: string, checkpointId: number | undefined): WriteAheadBatch {
  const cut = id.lastIndexOf('/');
  return { id, checkpointId, writer: id.slice(0, cut), seq: Number(id.slice(cut + 1)) };
}

/**
 * A write-ahead sink (Flink's `GenericWriteAheadSink`) for targets without transactions: records
 * of each checkpoint are kept in the checkpoint and handed to `opts.write` once it completes,
 * with a stable batch id so the target can skip a batch it already has (see the module comment).
 */
export function writeAhead<T>(opts: WriteAheadOptions<T>): Sink<T> {
  const name = opts.name ?? 'writeAhead';
  if (typeof opts.write !== 'function')
    throw new EddyError('JOB_INVALID', `${name}: write must be a function (records, ctx, { id }) => void`);
  return {
    kind: name,
    // The sealed batches live in checkpoints, so the operator needs a uid to find them again.
    stateful: true,
    createWriter(ctx: ConnectorContext): SinkWriter<T> {
      return new WriteAheadWriter<T>(name, opts.write, ctx);
    },
  };
}

class WriteAheadWriter<T> implements SinkWriter<T> {
  /** Random per writer: ids never collide across attempts, or across processes (--resume). */
  private readonly runId: string;
  private seq = 0;
  private buffer: T[] = [];
  /** Sealed and handed to a checkpoint, not yet written (finish() writes them first). */
  private readonly prepared = new Map<string, WriteAheadHandle>();
  /** Ids this writer wrote, oldest first, at most REMEMBERED_IDS. */
  private readonly written = new Set<string>();

  constructor(
    private readonly name: string,
    private readonly userWrite: WriteAheadOptions<T>['write'],
    private readonly ctx: ConnectorContext,
  ) {
    this.runId = `${ctx.operatorUid}/${ctx.subtaskIndex}/${ctx.attempt}/${randomBytes(6).toString('hex')}`;
  }

  write(value: T): void {
    this.buffer.push(value);
  }

  /** Seals the records since the last barrier; synchronous, so the batch ends exactly at the barrier. */
  prepareCommit(checkpointId: number): WriteAheadHandle[] {
    if (this.buffer.length === 0) return [];
    const h: WriteAheadHandle = { id: `${this.runId}/${this.seq++}`, checkpointId, records: this.buffer };
    this.buffer = [];
    this.prepared.set(h.id, h);
    return [h];
  }

  async commit(handles: unknown[]): Promise<void> {
    for (const h of flattenHandles(this.name, handles)) await this.writeBatch(h.records as T[], batchOf(h.id, h.checkpointId));
  }

  async finish(): Promise<void> {
    // Batches sealed for a checkpoint that never completed come first: they are older.
    for (const h of [...this.prepared.values()]) await this.writeBatch(h.records as T[], batchOf(h.id, h.checkpointId));
    if (this.buffer.length === 0) return;
    const records = this.buffer;
    this.buffer = [];
    await this.writeBatch(records, batchOf(`${this.runId}/${this.seq++}`, undefined));
  }

  abort(): void {
    // Sealed batches stay where they are, in their checkpoints: a restore commits them.
    this.buffer = [];
    this.prepared.clear();
  }

  private async writeBatch(records: T[], batch: WriteAheadBatch): Promise<void> {
    if (this.written.has(batch.id)) return;
    try {
      await this.userWrite(records, this.ctx, batch);
    } catch (err) {
      throw new EddyError('SINK_FAILED', `${this.name}: write of batch ${batch.id} (${records.length} records) failed: ${messageOf(err)}`, {
        operatorUid: this.ctx.operatorUid,
        subtask: this.ctx.subtaskIndex,
        cause: messageOf(err),
      });
    }
    this.prepared.delete(batch.id);
    this.written.add(batch.id);
    if (this.written.size > REMEMBERED_IDS) this.written.delete(this.written.values().next().value!);
  }
}
