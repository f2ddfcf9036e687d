/**
 * The LMDB environment of one operator subtask's keyed state, and what the store writes to it
 * synchronously: the table list and the checkpoint marker (the meta keys), a batch when the
 * record loop has no choice but to wait (over budget, nothing in flight), and the entries of a
 * restore. Every failure becomes one STATE_FAILED line naming the operator, the subtask and
 * the directory. The asynchronous write-backs are write-back.ts's.
 */
import { open, type RootDatabase } from 'lmdb';
import { EddyError, messageOf } from '../../failure.js';
import type { StateKind } from '../keyed-store.js';
import { metaKey } from './key-codec.js';
import type { Batch } from './write-back.js';

/** Writes per LMDB transaction when restoring (bounds LMDB's dirty-page memory). */
const RESTORE_BATCH = 4096;
export const META_TABLES = metaKey('tables');
export const META_CHECKPOINT = metaKey('checkpoint');
/** Keys in the environment that are not state (the two above). */
const META_KEYS = 2;
/** The checkpoint marker of an environment holding state newer than any barrier. */
export const NOT_AT_CHECKPOINT = -1;

interface Marker {
  id: number;
  start: number;
  end: number;
}

export interface StoreIdentity {
  /** Directory of this subtask's environment (created if missing). */
  path: string;
  rangeStart: number;
  rangeEnd: number;
  operatorUid: string;
  subtask: number;
}

/** A restore write: key and value bytes (undefined: remove). */
export type RestoreOp = [Buffer, Buffer | undefined];

export class StoreEnv {
  readonly env: RootDatabase<Buffer, Buffer>;
  private restoreOps: RestoreOp[] | undefined;
  /** The queued restore ops' values by key (latin1 text of the key's bytes): the last one queued. */
  private readonly restorePending = new Map<string, Buffer | undefined>();

  constructor(private readonly id: StoreIdentity) {
    this.env = this.guard('open', () => open<Buffer, Buffer>({ path: id.path, keyEncoding: 'binary', encoding: 'binary', noSync: true }));
  }

  /** Runs an LMDB operation; its failure becomes a STATE_FAILED naming the operator and subtask. */
  guard<T>(what: string, fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      throw this.failure(what, err);
    }
  }

  failure(what: string, err: unknown): EddyError {
    if (err instanceof EddyError) return err;
    const msg = messageOf(err);
    const { operatorUid, subtask, path } = this.id;
    return new EddyError(
      'STATE_FAILED',
      `LMDB state of operator '${operatorUid}' subtask ${subtask} (${path}) failed to ${what}: ${msg}` +
        (/MDB_MAP_FULL|ENOSPC|No space/i.test(msg) ? '; free disk space or point --local-dir at a larger disk' : ''),
      { operatorUid, subtask, cause: msg },
    );
  }

  /**
   * The table list of an environment left exactly at checkpoint `resumeAt` for this key-group
   * range (local recovery keeps it as it is); otherwise undefined, and the environment is
   * cleared: whatever an earlier attempt left is not this task's state.
   */
  reopenAt(resumeAt: number | undefined): [string, StateKind][] | undefined {
    return this.guard('open', () => {
      const marker = this.readMeta<Marker>(META_CHECKPOINT);
      if (resumeAt !== undefined && marker?.id === resumeAt && marker.start === this.id.rangeStart && marker.end === this.id.rangeEnd) {
        return this.readMeta<[string, StateKind][]>(META_TABLES) ?? [];
      }
      this.env.clearSync();
      return undefined;
    });
  }

  private readMeta<T>(key: Buffer): T | undefined {
    const b = this.env.getBinary(key);
    return b === undefined ? undefined : (JSON.parse(b.toString('utf8')) as T);
  }

  /** The marker naming checkpoint `id` (or NOT_AT_CHECKPOINT) for this range. */
  markerOf(id: number): Buffer {
    return Buffer.from(JSON.stringify({ id, start: this.id.rangeStart, end: this.id.rangeEnd } satisfies Marker), 'utf8');
  }

  /** The bytes of the table list (table ids are part of the LMDB keys: local recovery needs the mapping). */
  static tableList(tables: readonly { name: string; kind: StateKind }[]): Buffer {
    return Buffer.from(JSON.stringify(tables.map((t) => [t.name, t.kind])), 'utf8');
  }

  writeTablesSync(list: Buffer): void {
    this.guard('register state', () => this.env.transactionSync(() => this.env.putSync(META_TABLES, list)));
  }

  /** The environment's entries less its meta keys. */
  entryCount(): number {
    return Math.max(0, (this.env.getStats() as { entryCount: number }).entryCount - META_KEYS);
  }

  /** Writes a captured batch in one transaction on this thread, ending with its marker. */
  applySync(batch: Batch): void {
    this.guard('write', () =>
      this.env.transactionSync(() => {
        const ops = batch.ops;
        for (let i = 0; i < ops.length; i += 5) {
          const chunk = batch.chunks[ops[i]];
          const key = chunk.subarray(ops[i + 1], ops[i + 1] + ops[i + 2]);
          if (ops[i + 4] < 0) this.env.removeSync(key);
          else this.env.putSync(key, chunk.subarray(ops[i + 3], ops[i + 3] + ops[i + 4]));
        }
        this.env.putSync(META_CHECKPOINT, batch.marker);
      }),
    );
  }

  get restoring(): boolean {
    return this.restoreOps !== undefined;
  }

  beginRestore(): void {
    this.restoreOps = [];
  }

  /** Queues a restore write; every RESTORE_BATCH of them are written in one transaction. */
  queueRestore(op: RestoreOp): void {
    this.restoreOps!.push(op);
    this.restorePending.set(op[0].toString('latin1'), op[1]);
    if (this.restoreOps!.length >= RESTORE_BATCH) this.writeRestoreOps();
  }

  /** The value a restore has written or queued under `key` (undefined: none), to append to it. */
  restoredValue(key: Buffer): Uint8Array | undefined {
    const text = key.toString('latin1');
    if (this.restorePending.has(text)) return this.restorePending.get(text);
    return this.guard('restore', () => this.env.getBinary(key)) ?? undefined;
  }

  endRestore(): void {
    if (this.restoreOps && this.restoreOps.length > 0) this.writeRestoreOps();
    this.restoreOps = undefined;
  }

  private writeRestoreOps(): void {
    const ops = this.restoreOps!;
    this.restoreOps = [];
    this.restorePending.clear();
    this.guard('restore', () =>
      this.env.transactionSync(() => {
        for (const [k, v] of ops) {
          if (v === undefined) this.env.removeSync(k);
          else this.env.putSync(k, v);
        }
        this.env.putSync(META_CHECKPOINT, this.markerOf(NOT_AT_CHECKPOINT));
      }),
    );
  }
}
