/**
 * Where chunks encoded by hand are written and left: each after the last in a block, and a block
 * without room left to the views into it (the GC frees it with them) for a new one, as msgpackr
 * does with its messages. A chunk's bytes are then a view nobody writes again, so a snapshot
 * copies them once, into its own buffer, instead of first copying each out at its exact size.
 * The views share their ArrayBuffer: they cannot be transferred to another thread.
 */
export class ChunkSpace {
  buf: Uint8Array;
  view: DataView;
  /** Where the next chunk may start, and where the one being written started. */
  private at = 0;
  private start = 0;

  constructor(private readonly blockBytes: number) {
    this.buf = new Uint8Array(blockBytes);
    this.view = new DataView(this.buf.buffer);
  }

  /** Room for a chunk of at most `bound` bytes in `buf`; returns where to write it. */
  reserve(bound: number): number {
    if (this.at + bound > this.buf.byteLength) {
      this.buf = new Uint8Array(Math.max(bound, this.blockBytes));
      this.view = new DataView(this.buf.buffer);
      this.at = 0;
    }
    this.start = this.at;
    return this.at;
  }

  /** The chunk written since reserve, ending at `end`; the next one goes after it. */
  take(end: number): Uint8Array {
    this.at = end;
    return this.buf.subarray(this.start, end);
  }
}
