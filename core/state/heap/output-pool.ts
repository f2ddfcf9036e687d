/**
 * Buffers for heap snapshots' bytes, reused from one checkpoint to the next, on the packer
 * thread's path (snapshot-packer.ts) and on the loop's (heap-snapshot.ts) alike. A new buffer per
 * checkpoint is external memory the loop's GC answers with full collections, and fresh pages
 * the kernel faults in one by one (q20's deltas, 15-35 MB each, packed on the loop: 217 ms of
 * CPU in the copy into a fresh buffer over a 400,000-event run, busy machine). Shared memory, so the writer thread reads the bytes where they are
 * (core/checkpoint/task-file.ts) and the packer thread writes into them.
 */

/** An output buffer made bigger is made this much bigger than asked, for a state that grows. */
export const OUTPUT_HEADROOM = 1.25;

/**
 * Below this a snapshot's bytes go into a buffer of their own, as before: the pool's buffers
 * stay resident for the thread's life, which pays only for big snapshots.
 */
export const POOLED_OUTPUT_MIN_BYTES = 1 << 20;

/** Two: one snapshot being written while the next is packed. */
const OUTPUTS_MAX = 2;
const outputs: SharedArrayBuffer[] = [];

/** A free output buffer (of any size; the caller checks), or undefined. */
export function takeOutput(): SharedArrayBuffer | undefined {
  return outputs.pop();
}

/** `buffer` is free again: its bytes are written (or will not be). */
export function giveOutput(buffer: SharedArrayBuffer): void {
  if (outputs.length < OUTPUTS_MAX && !outputs.includes(buffer)) outputs.push(buffer);
}

/** A new output buffer for `bytes`, with headroom. */
export function growOutput(bytes: number): SharedArrayBuffer {
  return new SharedArrayBuffer(Math.ceil(bytes * OUTPUT_HEADROOM));
}

/**
 * The bytes of a snapshot packed on this thread: a pooled buffer when the snapshot is big
 * enough, with the release that gives it back; else a buffer of its own, left to the GC.
 */
export function pooledOutput(bytes: number): { data: Uint8Array; release?: () => void } {
  if (bytes < POOLED_OUTPUT_MIN_BYTES) return { data: new Uint8Array(bytes) };
  let buffer = takeOutput();
  if (buffer === undefined || buffer.byteLength < bytes) buffer = growOutput(bytes);
  const shared = buffer;
  return { data: new Uint8Array(shared, 0, bytes), release: () => giveOutput(shared) };
}
