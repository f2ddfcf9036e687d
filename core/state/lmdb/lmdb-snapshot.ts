/**
 * Snapshots of the LMDB backend.
 *
 * Full: one cursor scan over the subtask's key-group range (contiguous, see key-codec.ts) in an
 * LMDB read transaction opened at the barrier (when the cache's write-back of the barrier has
 * committed): MVCC keeps that version readable however much the record loop writes meanwhile,
 * so the canonical chunks (../snapshot-format.ts) are produced in slices over several
 * event-loop turns.
 *
 * Delta: collected from the barrier's write-back as it is captured (DeltaCapture, see
 * capture-log.ts for when that is exact), without reading LMDB. At a barrier that holds its
 * changes (lmdb-keyed-store.ts) numbers under number keys come as write-log chunks
 * (heap/write-log.ts): the interval's writes as the number log recorded them (number-log.ts)
 * and what the barrier read itself; the heap backend's packer keeps the last write per key and
 * writes the chunk bytes, on its thread when the delta is big.
 */
import type { RootDatabase, Transaction } from 'lmdb';
import { EddyError } from '../../failure.js';
import type { ChangedKeys } from '../change-log.js';
import { yieldTurn, type SnapshotJob } from '../keyed-backend.js';
import type { StateKind } from '../keyed-store.js';
import { KeyedSnapshotWriter, RawChunkBuilder, type KeyedSnapshot } from '../snapshot-format.js';
import { GroupPacker } from '../heap/captured-group.js';
import { PACK_OFF_THREAD_MIN_ENTRIES } from '../heap/heap-snapshot.js';
import { openPackerJob } from '../heap/snapshot-packer.js';
import { giveChunks, LOG_MAX_TABLE, type LogChunk } from '../heap/write-log.js';
import { appendNumber } from './number-log.js';
import { decodeKey, encodeKey, keyGroupPrefix, packedKeyBytes, packStoredKey } from './key-codec.js';
import { liveValue } from '../ttl.js';
import { decodeValue, encodeValue } from './value-codec.js';

/** Entries decoded per event-loop turn. */
const ENTRIES_PER_TURN = 8192;

/** getBinaryFast in a given read transaction (lmdb-js accepts it; its typings omit it). */
function readAt(env: RootDatabase<Buffer, Buffer>, key: Buffer, transaction: Transaction): Buffer | undefined {
  const b = (env.getBinaryFast as (id: Buffer, options: { transaction: Transaction }) => Buffer | undefined).call(env, key, {
    transaction,
  });
  // The fast buffer's `length` is the value's, its byteLength the whole shared buffer's: the
  // bytes are copied elsewhere, so they must be a view of exactly the value.
  return b === undefined ? undefined : b.subarray(0, b.length);
}

export type Guard = <T>(what: string, fn: () => T) => T;

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
      if (t === undefined)
        throw new EddyError('STATE_FAILED', `LMDB state holds key group ${this.keyGroup} entries of unregistered table ${table}`);
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

/** The value's bytes for a snapshot: as stored, or without what TTL expired (undefined: all). */
function liveBytes(tables: { kind: StateKind }[], ttl: SnapshotTtl, table: number, bytes: Uint8Array): Uint8Array | undefined {
  if (!ttl.tables[table]) return bytes;
  const v = decodeValue(bytes);
  const live = liveValue(tables[table].kind, v, ttl.now);
  return live === undefined ? undefined : live === v ? bytes : new Uint8Array(encodeValue(live));
}

/** TTL tables and the barrier's time: snapshots leave expired values out. */
export interface SnapshotTtl {
  tables: boolean[];
  now: number;
}

/**
 * A delta snapshot collected while the barrier's write-back captures the changed entries (see
 * capture-log.ts): each entry's value bytes are the very bytes written to LMDB, a removed entry
 * is a deletion. Keys a background write-back took since the last barrier (`offBarrier`, the
 * change log's cut) and the barrier's did not are read back at the barrier afterwards.
 */
export class DeltaCapture {
  private readonly chunks = new Map<number, GroupChunk>();
  private last: GroupChunk | undefined;
  private numberCount = 0;
  private readonly numbers: LogChunk[];

  constructor(
    private readonly tables: { name: string; kind: StateKind }[],
    private readonly range: { start: number; end: number },
    private readonly ttl: SnapshotTtl,
    private readonly offBarrier: ChangedKeys,
    /**
     * Numbers for the packer, last write winning (number-log.ts): the writes of the interval as
     * logged, then what setNumber adds. What set and remove take overrides them.
     */
    numbers: LogChunk[] | undefined,
  ) {
    this.numbers = numbers ?? [];
    for (const c of this.numbers) this.numberCount += c.length;
  }

  private chunk(keyGroup: number): GroupChunk {
    if (this.last !== undefined && this.last.keyGroup === keyGroup) return this.last;
    let c = this.chunks.get(keyGroup);
    if (c === undefined) this.chunks.set(keyGroup, (c = new GroupChunk(keyGroup, this.tables)));
    return (this.last = c);
  }

  /** Whether a background write-back took keys of table t in group index gi since the last barrier (read from LMDB). */
  tookOffBarrier(table: number, gi: number): boolean {
    return (this.offBarrier[table]?.[gi]?.size ?? 0) > 0;
  }

  /** The barrier's write-back captured `stored` of table t in group index gi with `value` (encoded: `bytes`). */
  set(table: number, gi: number, stored: unknown, value: unknown, bytes: Uint8Array): void {
    this.offBarrier[table]?.[gi]?.delete(stored);
    const c = this.chunk(this.range.start + gi);
    const live = this.ttl.tables[table] ? liveValue(this.tables[table].kind, value, this.ttl.now) : value;
    if (live === undefined) c.deletions.push(c.ref(table), stored);
    else c.raw.add(c.ref(table), stored, live === value ? bytes : new Uint8Array(encodeValue(live)));
  }

  /** A barrier holding its changes (lmdb-keyed-store.ts) took `stored` with a number, in a table without TTL. */
  setNumber(table: number, gi: number, stored: unknown, value: number): void {
    this.offBarrier[table]?.[gi]?.delete(stored);
    if (typeof stored !== 'number' || table > LOG_MAX_TABLE) {
      const c = this.chunk(this.range.start + gi);
      c.raw.addNumber(c.ref(table), stored, value);
      return;
    }
    // After the logged writes: the last write of the key, so the packer keeps this one.
    appendNumber(this.numbers, table, gi, stored, value);
    this.numberCount++;
  }

  /** The barrier's write-back captured the removal of `stored`. */
  remove(table: number, gi: number, stored: unknown): void {
    this.offBarrier[table]?.[gi]?.delete(stored);
    const c = this.chunk(this.range.start + gi);
    c.deletions.push(c.ref(table), stored);
  }

  /** Reads what background write-backs took (at the barrier's read transaction) and encodes the delta. */
  async run(env: RootDatabase<Buffer, Buffer>, txnAtBarrier: Promise<Transaction>, guard: Guard): Promise<KeyedSnapshot> {
    const txn = await txnAtBarrier;
    try {
      let n = 0;
      for (let t = 0; t < this.offBarrier.length; t++) {
        const groups = this.offBarrier[t];
        if (groups === undefined) continue;
        for (let gi = 0; gi < groups.length; gi++) {
          const keys = groups[gi];
          if (keys === undefined || keys.size === 0) continue;
          const kg = this.range.start + gi;
          const c = this.chunk(kg);
          for (const k of keys) {
            const bytes = guard('read for a snapshot', () => readAt(env, encodeKey(kg, t, k), txn));
            const v = bytes === undefined ? undefined : liveBytes(this.tables, this.ttl, t, bytes);
            if (v === undefined) c.deletions.push(c.ref(t), k);
            else c.raw.add(c.ref(t), k, v);
            if (++n % ENTRIES_PER_TURN === 0) await yieldTurn();
          }
        }
      }
    } finally {
      txn.done();
    }
    // The packer merges the numbers into the groups encoded here (a key both hold is not
    // possible: each changed entry went to one of them) and writes the groups only they changed.
    const tables = this.tables.map((t): [string, StateKind] => [t.name, t.kind]);
    // Groups encoded here are only concatenated: the packer thread is worth it for the numbers.
    const offThread = this.numberCount >= PACK_OFF_THREAD_MIN_ENTRIES;
    const packer = offThread
      ? openPackerJob(this.range.start, tables, this.numbers)
      : new GroupPacker(this.range.start, tables, this.numbers);
    for (const [kg, chunk] of this.chunks) {
      const bytes = chunk.encode(true);
      // Posted groups' buffers are transferred: a chunk may sit in Node's shared Buffer pool.
      if (bytes !== undefined) packer.add({ kg, bytes: offThread ? new Uint8Array(bytes) : bytes });
    }
    try {
      return await packer.finish(this.range);
    } finally {
      // Released now; a chunk an off-thread job still reads is reused only once it lets go
      // (openPackerJob holds them: write-log.ts holdChunks).
      giveChunks(this.numbers);
    }
  }
}

/** A full snapshot scanned from LMDB in a read transaction opened at the barrier. */
export class LmdbSnapshotJob implements SnapshotJob {
  constructor(
    private readonly env: RootDatabase<Buffer, Buffer>,
    /** The read transaction at the barrier, once the barrier's write-back has committed. */
    private readonly txnAtBarrier: Promise<Transaction>,
    private readonly tables: { name: string; kind: StateKind }[],
    private readonly range: { start: number; end: number },
    /** A delta was asked for and this full snapshot replaces it: a new base. */
    private readonly rebased: boolean,
    private readonly ttl: SnapshotTtl,
    private readonly guard: Guard,
  ) {}

  private txn!: Transaction;

  async run(): Promise<KeyedSnapshot> {
    const writer = new KeyedSnapshotWriter();
    this.txn = await this.txnAtBarrier;
    try {
      await this.full(writer);
    } finally {
      this.txn.done();
    }
    const snap = writer.finish(this.range);
    if (this.rebased) snap.rebased = true;
    return snap;
  }

  private async full(writer: KeyedSnapshotWriter): Promise<void> {
    const range = this.guard('scan for a snapshot', () =>
      this.env.getRange({ start: keyGroupPrefix(this.range.start), end: keyGroupPrefix(this.range.end + 1), transaction: this.txn }),
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
        if (chunk) this.add(writer, chunk);
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
    if (chunk) this.add(writer, chunk);
  }

  private live(table: number, bytes: Uint8Array): Uint8Array | undefined {
    return liveBytes(this.tables, this.ttl, table, bytes);
  }

  private add(writer: KeyedSnapshotWriter, chunk: GroupChunk): void {
    const bytes = chunk.encode(false);
    if (bytes !== undefined) writer.addEncoded(chunk.keyGroup, bytes);
  }
}
