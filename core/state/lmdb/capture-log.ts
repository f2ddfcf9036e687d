/**
 * Incremental checkpoints of the LMDB backend take their delta from the write-backs
 * (lmdb-keyed-store.ts) instead of recording every write: the barrier's write-back captures
 * every entry changed since the write-back before it, with its barrier-time value, and is
 * collected into the delta as it is encoded for LMDB. Entries that went to LMDB between two
 * barriers (a background write-back when the cache is full) are the only keys recorded here,
 * once per write-back rather than per write; the delta reads those back from LMDB at the
 * barrier unless the barrier's write-back holds them anyway.
 *
 * That is exact when the previous barrier's checkpoint is the confirmed base: one generation
 * pending. With two (the previous checkpoint not yet confirmed, as when its notification
 * arrives after this barrier, or declined) the previous delta is merged into this one. With
 * more, or when the previous one was full, the snapshot is a full one that becomes the new
 * base (as Flink's RocksDB backend uploads everything when its base is unknown).
 */
import { ChangeLog } from '../change-log.js';
import type { KeyedSnapshot } from '../snapshot-format.js';

/** How the barrier just cut takes its delta from the write-backs; undefined: it cannot (a full snapshot). */
export interface DeltaPlan {
  /** The previous checkpoint's delta, still unconfirmed: this one must include it (delta-merge.ts). */
  merge?: Promise<KeyedSnapshot>;
}

export class CaptureLog extends ChangeLog {
  /** The last delta taken, until its checkpoint is confirmed. */
  private previous: { id: number; delta: Promise<KeyedSnapshot> } | undefined;

  /** At a barrier just cut: how its delta is taken (see the module comment). */
  planDelta(): DeltaPlan | undefined {
    const ids = this.pendingIds;
    if (ids.length === 1) return {};
    if (ids.length === 2 && this.previous?.id === ids[0]) return { merge: this.previous.delta };
    return undefined;
  }

  /** Barrier `id` took `delta` (undefined: a full snapshot). */
  took(id: number, delta: Promise<KeyedSnapshot> | undefined): void {
    this.previous = delta === undefined ? undefined : { id, delta };
  }

  override confirm(id: number): void {
    super.confirm(id);
    if (this.previous !== undefined && this.previous.id <= id) this.previous = undefined;
  }

  override reset(): void {
    super.reset();
    this.previous = undefined;
  }
}
