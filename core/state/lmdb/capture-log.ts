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
 * pending. With more (a checkpoint declined or not yet confirmed) the keys the older barriers'
 * write-backs held are not known here, and the snapshot is a full one that becomes the new
 * base (as Flink's RocksDB backend uploads everything when its base is unknown).
 */
import { ChangeLog } from '../change-log.js';

export class CaptureLog extends ChangeLog {
  /** Whether the delta of the barrier just cut can be taken from its write-back. */
  get deltaFromWriteBack(): boolean {
    return this.pending === 1;
  }
}
