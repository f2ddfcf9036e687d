/**
 * Record batches on the wire: one msgpackr message per batch, an array of records.
 *
 * msgpackr's record extension is on, without shared structures: each batch carries the
 * definition of every object shape it uses once, and every record of that shape refers to
 * it by a one-byte id. So a batch of 500 `{ word, count }` objects pays for the key names
 * once, and no structure table has to be kept in sync between threads (a consumer can
 * decode any batch on its own, which also makes a restart or a late-joining reader safe).
 *
 * A batch of a stream with event time is `[records, timestamps]` (RECORDS_FLAG_TIMESTAMPS in
 * layout.ts); the codec packs whatever array it is given.
 */
import { Packr, Unpackr } from 'msgpackr';

export class BatchEncoder {
  private readonly packr = new Packr({ useRecords: true, structuredClone: false });

  /**
   * The returned bytes are a view of msgpackr's output buffer. msgpackr never writes over bytes
   * it has returned (the next pack continues after them, or in a new buffer), so the view stays
   * valid; it does keep that buffer alive while it is held.
   */
  encode(records: readonly unknown[]): Uint8Array {
    return this.packr.pack(records);
  }
}

export class BatchDecoder {
  // copyBuffers: binary values (Uint8Array/Buffer fields of records) are copied out. Without
  // it msgpackr returns views into the input, which is RingConsumer.payload() — ring memory
  // that the producer overwrites after release(), silently changing records already emitted.
  private readonly unpackr = new Unpackr({ useRecords: true, structuredClone: false, copyBuffers: true });

  decode(bytes: Uint8Array): unknown[] {
    return this.unpackr.unpack(bytes) as unknown[];
  }
}
