/**
 * msgpack forms written by hand where a snapshot or checkpoint file is encoded straight into
 * its buffer (keyed-state chunks in state/plain-pack.ts and state/snapshot-format.ts, in-flight
 * data in checkpoint/channel-state.ts): the bytes must be the ones msgpackr writes, so those
 * files' tests compare against msgpackr at every size boundary.
 *
 * Every form past the one-byte ones is msgpack's ladder: a tag naming the width, then the value
 * big-endian in 1, 2 or 4 bytes (writeTagged).
 */

/**
 * Positive integers below this are one byte: msgpackr with records (`useRecords`, as state
 * chunks are written) keeps 0x40-0x7f for record ids, so 0x40 is already `cc 40`.
 */
export const RECORDS_FIXINT_LIMIT = 0x40;

/**
 * A tag, then `v` big-endian in `bytes` (1, 2 or 4) bytes at `pos`; returns the next position.
 * A negative `v` comes out in two's complement: Uint8Array and DataView's unsigned setters take
 * it modulo 2^8, 2^16 and 2^32, so the signed forms need no setters of their own.
 */
function writeTagged(out: Uint8Array, view: DataView, pos: number, tag: number, bytes: 1 | 2 | 4, v: number): number {
  out[pos] = tag;
  if (bytes === 1) out[pos + 1] = v;
  else if (bytes === 2) view.setUint16(pos + 1, v);
  else view.setUint32(pos + 1, v);
  return pos + 1 + bytes;
}

/** The smallest array header for `n` items, as msgpackr writes it, at `pos`; returns the next position. */
export function writeArrayHeader(out: Uint8Array, view: DataView, pos: number, n: number): number {
  if (n < 0x10) {
    out[pos] = 0x90 | n;
    return pos + 1;
  }
  return n < 0x10000 ? writeTagged(out, view, pos, 0xdc, 2, n) : writeTagged(out, view, pos, 0xdd, 4, n);
}

/** How many bytes writeArrayHeader writes for `n` items. */
export const arrayHeaderSize = (n: number): number => (n < 0x10 ? 1 : n < 0x10000 ? 3 : 5);

/** The header of a string of `len` UTF-8 bytes, as msgpackr writes it, at `pos`; returns the next position. */
export function writeStringHeader(out: Uint8Array, view: DataView, pos: number, len: number): number {
  if (len < 0x20) {
    out[pos] = 0xa0 | len;
    return pos + 1;
  }
  if (len < 0x100) return writeTagged(out, view, pos, 0xd9, 1, len);
  return len < 0x10000 ? writeTagged(out, view, pos, 0xda, 2, len) : writeTagged(out, view, pos, 0xdb, 4, len);
}

/** How many bytes writeStringHeader writes for `len` bytes. */
export const stringHeaderSize = (len: number): number => (len < 0x20 ? 1 : len < 0x100 ? 2 : len < 0x10000 ? 3 : 5);

/**
 * `v` at `pos` as msgpackr with records writes a number (positive fixints below
 * RECORDS_FIXINT_LIMIT, then the narrowest integer form, else a float64); returns the next position.
 */
export function writeNumber(out: Uint8Array, view: DataView, pos: number, v: number): number {
  if (v >>> 0 === v) {
    if (v < RECORDS_FIXINT_LIMIT) {
      out[pos] = v;
      return pos + 1;
    }
    if (v < 0x100) return writeTagged(out, view, pos, 0xcc, 1, v);
    return v < 0x10000 ? writeTagged(out, view, pos, 0xcd, 2, v) : writeTagged(out, view, pos, 0xce, 4, v);
  }
  if (v >> 0 === v) {
    if (v >= -0x20) {
      out[pos] = 0x100 + v;
      return pos + 1;
    }
    if (v >= -0x80) return writeTagged(out, view, pos, 0xd0, 1, v);
    return v >= -0x8000 ? writeTagged(out, view, pos, 0xd1, 2, v) : writeTagged(out, view, pos, 0xd2, 4, v);
  }
  out[pos] = 0xcb;
  view.setFloat64(pos + 1, v);
  return pos + 9;
}
