/**
 * msgpack forms written by hand where a snapshot or checkpoint file is encoded straight into
 * its buffer (heap numeric chunks in state/snapshot-format.ts, in-flight data in
 * checkpoint/channel-state.ts): the bytes must be the ones msgpackr writes, so both files'
 * tests compare against msgpackr at every size boundary.
 */

/** The smallest array header for `n` items, as msgpackr writes it, at `pos`; returns the next position. */
export function writeArrayHeader(out: Uint8Array, view: DataView, pos: number, n: number): number {
  if (n < 0x10) out[pos++] = 0x90 | n;
  else if (n < 0x10000) {
    out[pos++] = 0xdc;
    view.setUint16(pos, n);
    pos += 2;
  } else {
    out[pos++] = 0xdd;
    view.setUint32(pos, n);
    pos += 4;
  }
  return pos;
}

/** How many bytes writeArrayHeader writes for `n` items. */
export const arrayHeaderSize = (n: number): number => (n < 0x10 ? 1 : n < 0x10000 ? 3 : 5);
