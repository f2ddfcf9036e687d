/**
 * The idempotent sink: the other way to exactly-once results without transactions. Every
 * record becomes an upsert (key → latest value) and goes out right away, in batches, so
 * nothing waits for a checkpoint. A failure makes the job restore its last checkpoint and
 * replay the records after it; the replay upserts the same keys with the same values again,
 * overwriting rather than adding. So once the job has ended, the target holds what a
 * fault-free run leaves there, provided that
 *   - the value written for a key is a deterministic function of the input (keyed state
 *     restored consistently: mode 'exactly-once'; under 'at-least-once' the replayed records
 *     may be counted twice in the state that produces the values), and
 *   - the last value written for a key is its final one (per key, records reach a sink
 *     subtask in order, which holds behind keyBy with the sink on the keyed subtasks).
 * In between, readers of the target may see values from beyond the restored checkpoint and,
 * during a replay, older values again: the target is eventually, not continuously, exact.
 *
 * Batching: within a batch the latest value per key wins (entries in the order of their last
 * write). A batch is flushed every `flushEvery` records, at every checkpoint barrier and at
 * the end of a bounded job. At most one upsert runs at a time, in order, so a later batch
 * never lands before an earlier one; while one runs, the next batch keeps gathering (and
 * coalescing), which bounds memory by the number of distinct keys.
 *
 * Why a uid is required (stateful: true) though nothing is kept in checkpoints: the barrier
 * flush runs in prepareCommit, which the runtime calls only for operators with a uid, and
 * under checkpointing finish() is not called (the final barrier does its job). Without the
 * barrier flush the tail of a checkpointed job would never be written, and a checkpoint could
 * complete while records before its barrier are still unwritten, which a restore would then
 * skip. prepareCommit waits until everything before the barrier is upserted, so a completed
 * checkpoint implies the target has all records before it.
 */
import { EddyError, messageOf } from '../../failure.js';
import type { ConnectorContext, Sink, SinkWriter } from '../types.js';

export interface IdempotentOptions<T, K> {
  /** The key of the target row/entry a record upserts. */
  key: (value: T) => K;
  /** Writes entries [key, latest value] so that a repeated call with the same entries changes nothing. */
  upsert: (entries: [K, T][], ctx: ConnectorContext) => Promise<void> | void;
  /** Default name of the sink operator. Default 'idempotent'. */
  name?: string;
  /** Records after which a batch is flushed even without a barrier. Default 1000. */
  flushEvery?: number;
}

const DEFAULT_FLUSH_EVERY = 1000;

/**
 * An idempotent sink: every record becomes an upsert by `opts.key`, sent in batches right away;
 * a replay after a restore overwrites with the same values, so the target ends as a fault-free
 * run leaves it (see the module comment for the conditions).
 */
export function idempotent<T, K>(opts: IdempotentOptions<T, K>): Sink<T> {
  const name = opts.name ?? 'idempotent';
  const flushEvery = opts.flushEvery ?? DEFAULT_FLUSH_EVERY;
  if (typeof opts.key !== 'function') throw new EddyError('JOB_INVALID', `${name}: key must be a function (value) => key`);
  if (typeof opts.upsert !== 'function') throw new EddyError('JOB_INVALID', `${name}: upsert must be a function (entries, ctx) => void`);
  if (!(Number.isSafeInteger(flushEvery) && flushEvery > 0)) {
    throw new EddyError('JOB_INVALID', `${name}: flushEvery must be a positive integer number of records, got ${flushEvery}`);
  }
  return {
    kind: name,
    // Needs a uid for the barrier flush (see above), though no state goes into checkpoints.
    stateful: true,
    createWriter(ctx: ConnectorContext): SinkWriter<T> {
      return new IdempotentWriter<T, K>(name, opts.key, opts.upsert, flushEvery, ctx);
    },
  };
}

class IdempotentWriter<T, K> implements SinkWriter<T> {
  /** Latest value per key since the last flush; delete-then-set keeps entries in order of last write. */
  private pending = new Map<K, T>();
  /** Records written since the last flush (not distinct keys): what flushEvery counts. */
  private count = 0;
  /** The last upsert started; each next one is chained after it. */
  private tail: Promise<void> = Promise.resolve();
  private running = 0;
  /** The first upsert failure; once set, nothing more is written and every call reports it. */
  private failure: EddyError | undefined;

  constructor(
    private readonly name: string,
    private readonly keyOf: (value: T) => K,
    private readonly upsert: IdempotentOptions<T, K>['upsert'],
    private readonly flushEvery: number,
    private readonly ctx: ConnectorContext,
  ) {}

  write(value: T): void {
    // An upsert failed in the background: fail the task on the next record, so the job
    // restores and replays rather than going on with a target missing a batch.
    if (this.failure) throw this.failure;
    let k: K;
    try {
      k = this.keyOf(value);
    } catch (err) {
      throw new EddyError('SINK_FAILED', `${this.name}: key() threw: ${messageOf(err)}`, {
        operatorUid: this.ctx.operatorUid,
        subtask: this.ctx.subtaskIndex,
        cause: messageOf(err),
      });
    }
    this.pending.delete(k);
    this.pending.set(k, value);
    // While an upsert runs, keep gathering: the next batch starts when it ends (see runUpsert).
    if (++this.count >= this.flushEvery && this.running === 0) this.startUpsert();
  }

  /** The barrier: everything written before it is upserted before the checkpoint may complete. */
  async prepareCommit(_checkpointId: number): Promise<unknown[]> {
    await this.flush();
    return []; // nothing to keep in the checkpoint
  }

  async finish(): Promise<void> {
    await this.flush();
  }

  async abort(): Promise<void> {
    this.pending = new Map();
    this.count = 0;
    // An upsert still running must land before a restarted writer starts upserting, or it
    // could overwrite newer values with older ones.
    await this.tail;
  }

  /**
   * Upserts what is pending (taken synchronously, so a batch ends exactly where flush was
   * called) after the upserts before it; resolves once it is written and rejects if it or
   * any before it failed.
   */
  private async flush(): Promise<void> {
    this.startUpsert();
    await this.tail;
    if (this.failure) throw this.failure;
  }

  /** Chains an upsert of the pending entries after the running ones. */
  private startUpsert(): void {
    if (this.pending.size === 0 || this.failure) return;
    const entries = [...this.pending];
    this.pending = new Map();
    this.count = 0;
    this.running++;
    this.tail = this.tail.then(() => this.runUpsert(entries));
  }

  /** Never rejects: a failure is kept in `failure` (so the chain and `abort` stay usable). */
  private async runUpsert(entries: [K, T][]): Promise<void> {
    try {
      if (!this.failure) await this.upsert(entries, this.ctx);
    } catch (err) {
      this.failure = new EddyError('SINK_FAILED', `${this.name}: upsert of ${entries.length} entries failed: ${messageOf(err)}`, {
        operatorUid: this.ctx.operatorUid,
        subtask: this.ctx.subtaskIndex,
        cause: messageOf(err),
      });
    } finally {
      this.running--;
    }
    // Records gathered while this upsert ran may already make a full batch.
    if (this.running === 0 && this.count >= this.flushEvery) this.startUpsert();
  }
}
