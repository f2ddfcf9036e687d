/**
 * The memory a task's unaligned checkpoint copies its in-flight input into (ring bytes up to
 * the cut, frames consumed before the barrier was located, the undelivered rest of a frame),
 * reused from one checkpoint to the next.
 *
 * Why: into fresh buffers, those copies cost the task's loop 4.3 ms of CPU per MiB (the
 * backpressure job at 1 MiB rings, 2 MiB per count task per checkpoint; a busy 2-core VM),
 * against 0.9 ms into memory that an earlier checkpoint had already touched. The fresh
 * buffers moved to the writer thread and died there, so every checkpoint faulted in new
 * pages. Shared memory, so the writer thread reads the copies in place (nothing moves, and the
 * arena stays here).
 *
 * One capture holds it at a time, from its snapshot until its task file is written or given
 * up (the writer thread reads it until then). A capture that finds it held, or fills it,
 * copies the rest into fresh memory as before.
 */
import { freshBytes, type ByteAlloc } from '../core/channel/ring.js';

/**
 * At most this much, whatever the rings: rings of up to 1 GiB are allowed, and the arena stays
 * resident for the task's life. Past it, copies take fresh memory as before.
 */
export const MAX_ARENA_BYTES = 64 * 1024 * 1024;

export class InFlightArena {
  private memory: Uint8Array | undefined;
  private used = 0;
  private held = false;
  /** Bumped at each hold: a capture's allocator works only for the hold that made it. */
  private generation = 0;

  private readonly capacity: number;

  /** `inputBytes`: the task's input rings together, what an unaligned checkpoint usually copies. */
  constructor(inputBytes: number) {
    this.capacity = Math.min(inputBytes, MAX_ARENA_BYTES);
  }

  /** For one capture, from the start of the arena; fresh memory while the last capture still holds it. */
  hold(): ByteAlloc {
    if (this.held || this.capacity === 0) return freshBytes;
    this.held = true;
    this.used = 0;
    // Allocated at the first unaligned checkpoint: its pages are touched then, and kept.
    const memory = (this.memory ??= new Uint8Array(new SharedArrayBuffer(this.capacity)));
    const generation = ++this.generation;
    return (len) => {
      if (generation !== this.generation || !this.held || this.used + len > this.capacity) return new Uint8Array(len);
      const bytes = memory.subarray(this.used, this.used + len);
      this.used += len;
      return bytes;
    };
  }

  /** The holding capture's file is written, or will not be: its copies may be overwritten. */
  release(): void {
    this.held = false;
  }
}
