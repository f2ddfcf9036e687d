/**
 * Writes captured cache entries to LMDB on lmdb-js's own write thread (asynchronous `put`), so
 * the record loop pays only for encoding them, not for the B-tree and the commit.
 *
 * Batches go to LMDB one at a time, each after the one before has committed, for two reasons:
 * LMDB then holds the batches in capture order, and a batch's `onCommit` (a barrier's: open a
 * read transaction) runs when LMDB holds exactly that batch and nothing later. A batch captured
 * while none is in flight goes to lmdb-js as it is captured (direct: lmdb-js copies the key and
 * pins the value buffer until it is written); one captured while another is in flight is copied
 * into arena chunks it owns and handed over once that one has committed.
 *
 * Every batch starts by marking the environment "not at a checkpoint" and a barrier's batch
 * ends by naming its checkpoint, so an environment cut short between lmdb-js transactions is
 * never mistaken for a checkpoint's state (local recovery, see lmdb-keyed-store.ts).
 */
import type { RootDatabase } from 'lmdb';

/** Bytes per arena chunk at most, and at least (values larger than this get a chunk of their own size). */
const MAX_CHUNK_BYTES = 1 << 20;
const MIN_CHUNK_BYTES = 16 << 10;
let lastQuieted: PromiseLike<unknown> | undefined;
const ignore = () => undefined;
/**
 * lmdb-js returns one promise per transaction to most puts of it, and rejects it when the commit
 * fails: the batch's last put carries the failure (WriteBack.commit); the others are handled
 * here once each, so a failing commit never ends the worker as an unhandled rejection.
 */
function quiet(p: PromiseLike<unknown> | boolean): void {
  if (typeof p !== 'object' || p === lastQuieted) return;
  lastQuieted = p;
  p.then(undefined, ignore);
}

/** What lmdb-js holds per queued write beyond its bytes (instruction slot, resolution object). */
const DIRECT_OP_BYTES = 96;
/** Numbers per op in Batch.ops: chunk index, key start, key length, value start, value length (-1: remove). */
const OP_FIELDS = 5;

export class Batch {
  readonly chunks: Buffer[] = [];
  /** OP_FIELDS numbers per op (see OP_FIELDS). */
  readonly ops: number[] = [];
  /** Arena bytes taken (charged to the cache budget while the batch waits). */
  bytes = 0;
  /** Of those, what the cache budget was charged (released on commit). */
  charged = 0;
  private pos = Infinity;

  constructor(
    readonly gen: number,
    /** The marker written last (a checkpoint id, or the "not at a checkpoint" marker). */
    readonly marker: Buffer,
    readonly begin: Buffer,
    private readonly chunkBytes: number,
    /** Set: every add goes to lmdb-js at once (nothing else is in flight). */
    private readonly direct?: { env: RootDatabase<Buffer, Buffer>; markerKey: Buffer },
  ) {
    if (direct) quiet(direct.env.put(direct.markerKey, begin));
  }

  get isDirect(): boolean {
    return this.direct !== undefined;
  }

  /** Writes added directly. */
  private count = 0;

  get size(): number {
    return this.count + this.ops.length / OP_FIELDS;
  }

  private place(n: number): number {
    let chunk = this.chunks[this.chunks.length - 1];
    if (chunk === undefined || this.pos + n > chunk.length) {
      chunk = Buffer.allocUnsafe(Math.max(this.chunkBytes, n));
      this.chunks.push(chunk);
      this.bytes += chunk.length;
      this.pos = 0;
    }
    const at = this.pos;
    this.pos += n;
    return at;
  }

  /**
   * Adds a write of `value` (undefined: a removal) at `key`. The key is copied; the value must
   * not change afterwards (msgpackr's pack never reuses the bytes it returned).
   */
  add(key: Buffer, value: Buffer | undefined): void {
    if (this.direct !== undefined) {
      quiet(value === undefined ? this.direct.env.remove(key) : this.direct.env.put(key, value));
      this.count++;
      this.bytes += DIRECT_OP_BYTES + key.length + (value?.length ?? 0);
      return;
    }
    const kAt = this.place(key.length + (value?.length ?? 0));
    const chunk = this.chunks.length - 1;
    const bytes = this.chunks[chunk];
    bytes.set(key, kAt);
    if (value !== undefined) bytes.set(value, kAt + key.length);
    this.ops.push(chunk, kAt, key.length, kAt + key.length, value === undefined ? -1 : value.length);
  }
}

interface Queued {
  batch: Batch;
  onCommit: () => unknown;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

export class WriteBack {
  /** The newest batch number handed out. */
  gen = 0;
  /** Set once a commit failed: every later batch fails with it too. */
  failure: unknown = undefined;
  private readonly queue: Queued[] = [];
  private writing: Queued | undefined;
  private last: Promise<void> = Promise.resolve();
  /** Batches committed so far. */
  commits = 0;

  constructor(
    private readonly env: RootDatabase<Buffer, Buffer>,
    /** Where the environment's checkpoint marker lives. */
    private readonly markerKey: Buffer,
    /** The cache budget: arena chunks are a small part of it. */
    budget: number,
    /** Runs when batch `gen` has committed, before its own onCommit. */
    private readonly committed: (batch: Batch) => void,
  ) {
    this.chunkBytes = Math.min(MAX_CHUNK_BYTES, Math.max(MIN_CHUNK_BYTES, budget >> 4));
  }

  private readonly chunkBytes: number;

  /** Batches captured and not yet committed. */
  get pending(): number {
    return this.queue.length + (this.writing ? 1 : 0);
  }

  /**
   * A batch to fill and submit before anything else is captured; `arena`: never direct (it is
   * to be written synchronously by the caller).
   */
  newBatch(marker: Buffer, begin: Buffer, arena = false): Batch {
    const direct = !arena && this.pending === 0 && this.failure === undefined;
    return new Batch(++this.gen, marker, begin, this.chunkBytes, direct ? { env: this.env, markerKey: this.markerKey } : undefined);
  }

  /** Queues `batch`; resolves with what `onCommit` returns once LMDB holds it. */
  submit<T>(batch: Batch, onCommit: () => T): Promise<T> {
    const p = new Promise<T>((resolve, reject) => {
      const q: Queued = { batch, onCommit, resolve: resolve as (v: unknown) => void, reject };
      if (batch.isDirect) {
        // Already in lmdb-js: only the final marker is left.
        this.writing = q;
        this.commit(q, () => this.env.put(this.markerKey, batch.marker));
        return;
      }
      this.queue.push(q);
      if (this.writing === undefined) this.next();
    });
    // Batches finish in order: the newest one settling means every one has.
    this.last = p.then(
      () => undefined,
      () => undefined,
    );
    return p;
  }

  /** Resolves when every batch queued so far has committed (or failed). */
  idle(): Promise<void> {
    return this.last;
  }

  private next(): void {
    const q = this.queue.shift();
    this.writing = q;
    if (q === undefined) return;
    if (this.failure !== undefined) {
      this.finish(q, false, this.failure);
      return;
    }
    const { batch } = q;
    const env = this.env;
    this.commit(q, () => {
      quiet(env.put(this.markerKey, batch.begin));
      const ops = batch.ops;
      for (let i = 0; i < ops.length; i += OP_FIELDS) {
        const chunk = batch.chunks[ops[i]];
        const key = chunk.subarray(ops[i + 1], ops[i + 1] + ops[i + 2]);
        quiet(ops[i + 4] < 0 ? env.remove(key) : env.put(key, chunk.subarray(ops[i + 3], ops[i + 3] + ops[i + 4])));
      }
      return env.put(this.markerKey, batch.marker);
    });
  }

  /** Runs `write` (the batch's last puts) and finishes `q` when its last put has committed. */
  private commit(q: Queued, write: () => PromiseLike<unknown>): void {
    let last: PromiseLike<unknown>;
    try {
      last = write();
    } catch (err) {
      this.failure = err;
      this.finish(q, false, err);
      return;
    }
    last.then(
      () => this.finish(q, true, undefined),
      (err: unknown) => {
        this.failure = err;
        // lmdb-js rejects a second promise with the cause (ENOSPC, MDB_MAP_FULL): handled here,
        // it names the failure instead of ending the worker as an unhandled rejection.
        const cause = (err as { commitError?: PromiseLike<unknown> } | undefined)?.commitError;
        if (cause !== undefined && typeof cause.then === 'function') {
          cause.then(undefined, (real: unknown) => {
            this.failure = real;
          });
        }
        this.finish(q, false, err);
      },
    );
  }

  private finish(q: Queued, ok: boolean, err: unknown): void {
    if (ok) {
      this.commits++;
      try {
        this.committed(q.batch);
        q.resolve(q.onCommit());
      } catch (e) {
        q.reject(e);
      }
    } else q.reject(err);
    this.next();
  }
}
