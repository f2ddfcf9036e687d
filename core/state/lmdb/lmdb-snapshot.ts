/**
 * A snapshot of the LMDB backend read from an LMDB read transaction opened at the barrier
 * (when the cache's write-back of the barrier has committed): MVCC keeps that version readable however much the
 * record loop writes meanwhile, so the canonical chunks (../snapshot-format.ts) are produced
 * in slices over several event-loop turns.
 *
 * Full: one cursor scan over the subtask's key-group range (contiguous, see key-codec.ts).
 * Delta: point reads of the keys changed since the base; a key absent now is a deletion.
 */
import type { RootDatabase, Transaction } from 'lmdb';
import { EddyError } from '../../failure.js';
import type { ChangedKeys } from '../change-log.js';
import { yieldTurn, type SnapshotJob } from '../keyed-backend.js';
import type { StateKind } from '../keyed-store.js';
import { KeyedSnapshotWriter, RawChunkBuilder, type KeyedSnapshot } from '../snapshot-format.js';
import { decodeKey, encodeKey, keyGroupPrefix, packedKeyBytes, packStoredKey } from './key-codec.js';
import { liveValue } from '../ttl.js';
import { decodeValue, encodeValue } from './lmdb-keyed-store.js';

/** Entries decoded per event-loop turn. */
const ENTRIES_PER_TURN = 8192;

/** getBinaryFast in a given read transaction (lmdb-js accepts it; its typings omit it). */
function readAt(env: RootDatabase<Buffer, Buffer>, key: Buffer, transaction: Transaction): Buffer | undefined {
  const b = (env.getBinaryFast as (id: Buffer, options: { transaction: Transaction }) => Buffer | undefined).call(env, key, { transaction });
  // The fast buffer's `length` is the value's, its byteLength the whole shared buffer's: the
  // bytes are copied elsewhere, so they must be a view of exactly the value.
  return b === undefined ? undefined : b.subarray(0, b.length);
}

type Guard = <T>(what: string, fn: () => T) => T;

/** Collects one key group's chunk; values go in as the msgpack bytes LMDB holds. */
class GroupChunk {
  private readonly refs = new Map<number, number>();
  readonly used: [string, StateKind][] = [];
  readonly raw = new RawChunkBuilder();
  readonly deletions: unknown[] = [];

  constructor(
    readonly keyGroup: number,
    private readonly tables: { name: string; kind: StateKind }[],
  ) {}

  ref(table: number): number {
    let r = this.refs.get(table);
    if (r === undefined) {
      const t = this.tables[table];
      if (t === undefined) throw new EddyError('STATE_FAILED', `LMDB state holds key group ${this.keyGroup} entries of unregistered table ${table}`);
      r = this.used.length;
      this.used.push([t.name, t.kind]);
      this.refs.set(table, r);
    }
    return r;
  }

  encode(delta: boolean): Uint8Array | undefined {
    if (this.raw.entryCount === 0 && this.deletions.length === 0) return undefined;
    return this.raw.finish(this.keyGroup, this.used, delta ? this.deletions : undefined);
  }
}

export class LmdbSnapshotJob implements SnapshotJob {
  constructor(
    private readonly env: RootDatabase<Buffer, Buffer>,
    /** The read transaction at the barrier, once the barrier's write-back has committed. */
    private readonly txnAtBarrier: Promise<Transaction>,
    private readonly tables: { name: string; kind: StateKind }[],
    private readonly rangeStart: number,
    private readonly rangeEnd: number,
    private readonly delta: ChangedKeys | undefined,
    /** TTL tables and the barrier's time: expired values are left out. */
    private readonly ttl: { tables: boolean[]; now: number },
    private readonly guard: Guard,
  ) {}

  private txn!: Transaction;

  async run(): Promise<KeyedSnapshot> {
    const writer = new KeyedSnapshotWriter();
    this.txn = await this.txnAtBarrier;
    try {
      if (this.delta === undefined) await this.full(writer);
      else await this.deltas(writer, this.delta);
    } finally {
      this.txn.done();
    }
    return writer.finish({ start: this.rangeStart, end: this.rangeEnd });
  }

  private async full(writer: KeyedSnapshotWriter): Promise<void> {
    const range = this.guard('scan for a snapshot', () =>
      this.env.getRange({ start: keyGroupPrefix(this.rangeStart), end: keyGroupPrefix(this.rangeEnd + 1), transaction: this.txn }),
    );
    const it = range[Symbol.iterator]();
    let chunk: GroupChunk | undefined;
    for (let n = 1; ; n++) {
      const r = this.guard('scan for a snapshot', () => it.next());
      if (r.done) break;
      const { key, value } = r.value as { key: Buffer; value: Buffer };
      // Key group and table are the key's first bytes (key-codec.ts); the stored key is
      // converted to msgpack from its bytes where it can be, without a JS value between.
      const kg = key.readUInt16BE(0);
      const table = key.readUInt16BE(2);
      if (chunk === undefined || chunk.keyGroup !== kg) {
        if (chunk) this.add(writer, chunk, false);
        chunk = new GroupChunk(kg, this.tables);
      }
      const v = this.live(table, value);
      if (v !== undefined) {
        const n = packStoredKey(key);
        if (n > 0) chunk.raw.addPacked(chunk.ref(table), packedKeyBytes(), n, v);
        else chunk.raw.add(chunk.ref(table), decodeKey(key).stored, v);
      }
      if (n % ENTRIES_PER_TURN === 0) await yieldTurn();
    }
    if (chunk) this.add(writer, chunk, false);
  }

  private async deltas(writer: KeyedSnapshotWriter, delta: ChangedKeys): Promise<void> {
    let n = 0;
    for (let kg = this.rangeStart; kg <= this.rangeEnd; kg++) {
      const gi = kg - this.rangeStart;
      const chunk = new GroupChunk(kg, this.tables);
      for (let t = 0; t < delta.length; t++) {
        const keys = delta[t]?.[gi];
        if (keys === undefined) continue;
        const ref = chunk.ref(t);
        for (const k of keys) {
          const bytes = this.guard('read for a snapshot', () => readAt(this.env, encodeKey(kg, t, k), this.txn));
          const v = bytes === undefined ? undefined : this.live(t, bytes);
          if (v === undefined) chunk.deletions.push(ref, k);
          else chunk.raw.add(ref, k, v);
          if (++n % ENTRIES_PER_TURN === 0) await yieldTurn();
        }
      }
      this.add(writer, chunk, true);
    }
  }

  /** The value's bytes for the snapshot: as stored, or without what TTL expired (undefined: all). */
  private live(table: number, bytes: Uint8Array): Uint8Array | undefined {
    if (!this.ttl.tables[table]) return bytes;
    const v = decodeValue(bytes);
    const live = liveValue(this.tables[table].kind, v, this.ttl.now);
    return live === undefined ? undefined : live === v ? bytes : new Uint8Array(encodeValue(live));
  }

  private add(writer: KeyedSnapshotWriter, chunk: GroupChunk, delta: boolean): void {
    const bytes = chunk.encode(delta);
    if (bytes !== undefined) writer.addEncoded(chunk.keyGroup, bytes);
  }
}
