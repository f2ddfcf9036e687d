/**
 * Bytes of a state value in LMDB: plain msgpack without record structures, so each value
 * decodes on its own (a cache miss reads and decodes exactly one value). The store writes
 * values with it and the snapshot re-reads them, so it is a module of its own that both import.
 */
import { Packr, Unpackr } from 'msgpackr';

const packr = new Packr({ useRecords: false, useBigIntExtension: true });
const unpackr = new Unpackr({ useRecords: false, useBigIntExtension: true });

/** The bytes stored for a value. */
export function encodeValue(value: unknown): Buffer {
  return packr.pack(value);
}

/** The value stored as these bytes. */
export function decodeValue(bytes: Uint8Array): unknown {
  return unpackr.unpack(bytes);
}
