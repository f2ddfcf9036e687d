/**
 * A sink writer that encodes each record for its target on the record loop (so a record the
 * target cannot take fails there, naming it) and hands the encoded form to the writer that
 * does the delivery (write-ahead or at-least-once). The encoded form is what checkpoints keep.
 */
import type { SinkWriter } from '../types.js';

export class EncodingWriter<T, E> implements SinkWriter<T> {
  constructor(
    private readonly encode: (v: T) => E,
    private readonly inner: SinkWriter<E>,
    /** Runs after the inner writer closed (e.g. closes the connection they share). */
    private readonly onClose?: () => Promise<void>,
  ) {}
  open(): Promise<void> | void {
    return this.inner.open?.();
  }
  write(value: T): void {
    this.inner.write(this.encode(value));
  }
  prepareCommit(checkpointId: number): Promise<unknown> | unknown {
    return this.inner.prepareCommit?.(checkpointId);
  }
  commit(handles: unknown[]): Promise<void> | void {
    return this.inner.commit?.(handles);
  }
  finish(): Promise<void> | void {
    return this.inner.finish();
  }
  abort(): Promise<void> | void {
    return this.inner.abort?.();
  }
  async close(): Promise<void> {
    try {
      await this.inner.close?.();
    } finally {
      await this.onClose?.();
    }
  }
}
