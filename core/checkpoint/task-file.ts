/**
 * A task's file of one checkpoint, after Flink's FLIP-306 file merging: every piece of state a
 * task writes for a checkpoint (each operator's keyed state, full or delta, each operator's
 * operator state, the task's in-flight data) goes one after the other into one file, fsync'd
 * once. Before this a task wrote a file per piece, each fsync'd, and on the backpressure bench
 * those fsyncs were the p99 of an unaligned checkpoint's duration.
 *
 *   chk-N/<vertex id>-<vertex>-<subtask>.bin
 *   ┌───────────────┬───────────────┬─────┬───────────────┐
 *   │ piece 0       │ piece 1       │ ... │ piece k       │   no header, no padding
 *   └───────────────┴───────────────┴─────┴───────────────┘
 *   ^ offset 0      ^ offset = bytes of the pieces before
 *
 * Each piece's handle in the ack and in `_metadata` is { file, offset, bytes, checksum }, the
 * checksum the CRC-32 of the piece alone, so a restore reads and verifies only the pieces it
 * needs (one old subtask's keyed state, at another parallelism) and a damaged file is refused
 * for the piece it breaks, naming the file. Checkpoints written before task files have handles
 * without `offset`, one file each, and still restore (CheckpointStorage.readStateFile).
 *
 * Lifetime: a task file belongs to its chk-N and goes with it, except while a checkpoint that
 * stays refers to any piece of it: an incremental chain's base or delta in an older folder
 * keeps that whole file (CheckpointStorage.prune keeps every file a kept checkpoint names, by
 * name), so pieces no one needs any more (that checkpoint's operator state, in-flight data)
 * stay on disk until the last reference goes, as FLIP-306's physical files do. A savepoint
 * copies each piece into a file of its own (savepoint.ts), so it refers to nothing here.
 */
import { PENDING_CHECKSUM, type StateFileHandle } from './metadata.js';
import { ownsWholeBuffer } from './owned-bytes.js';

/** One piece of a task file. */
export interface TaskFilePiece {
  parts: Uint8Array[];
  /**
   * The caller owns the parts' buffers and will not read them again, so they may move to the
   * writer thread; otherwise (an LMDB delta, which stays referenced) they are copied there.
   */
  owned: boolean;
  /** The piece's CRC-32, already taken where it was packed (off the record loop); else taken when written. */
  crc32?: number;
  /** The piece's handle; its checksum is PENDING_CHECKSUM until the file is written. */
  handle: StateFileHandle;
}

export class TaskFile {
  readonly pieces: TaskFilePiece[] = [];
  private size = 0;

  /** `name`: the file's name in chk-`id` (see taskFileName). */
  constructor(
    readonly id: number,
    readonly name: string,
  ) {}

  /** The handles' `file`, relative to the checkpoint directory. */
  get file(): string {
    return `chk-${this.id}/${this.name}`;
  }

  get bytes(): number {
    return this.size;
  }

  /** Appends a piece (its parts one after the other) and returns its handle, its checksum pending. */
  add(data: Uint8Array | Uint8Array[], owned: boolean, crc32?: number): StateFileHandle {
    const parts = Array.isArray(data) ? data : [data];
    const bytes = parts.reduce((n, p) => n + p.byteLength, 0);
    const handle: StateFileHandle = { file: this.file, bytes, checksum: PENDING_CHECKSUM, offset: this.size };
    this.pieces.push({ parts, owned, ...(crc32 !== undefined ? { crc32 } : {}), handle });
    this.size += bytes;
    return handle;
  }

  /**
   * Readies the pieces to go to the writer thread and returns the parts that move there: an
   * owned part whose buffer it alone views moves, a shared one (a heap snapshot's pooled
   * output) is read in place, and any other is replaced by a copy of its bytes, which moves (a
   * view's whole buffer would otherwise be cloned with it).
   */
  forWriterThread(): Uint8Array[] {
    const moving: Uint8Array[] = [];
    for (const p of this.pieces) {
      // Parts of one piece came out of one encoder as buffers of their own (encodeChannelStateParts).
      const ownsAll = p.owned && (p.parts.length > 1 || p.parts.every(ownsWholeBuffer));
      p.parts = p.parts.map((part) => {
        if (part.buffer instanceof SharedArrayBuffer) return part;
        const own = ownsAll && part.buffer instanceof ArrayBuffer ? part : part.slice();
        moving.push(own);
        return own;
      });
    }
    return moving;
  }
}

/** A task's file name in chk-N: the vertex id keeps two chains of one name apart. */
export function taskFileName(vertexId: number, vertexName: string, subtask: number): string {
  return `${vertexId}-${vertexName}-${subtask}.bin`;
}
