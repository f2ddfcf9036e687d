/**
 * Checksums of checkpoint files: CRC-32 (zlib.crc32, native since Node 20.15).
 *
 * Why CRC-32 and not sha256: the checksum guards against accidental damage (a torn write, a
 * flipped bit, a truncated or swapped file), not against an attacker who can write the
 * checkpoint directory. CRC-32 detects every burst error up to 32 bits and any other change
 * with probability 1 - 2^-32, runs several GB/s without allocating, and the recorded byte
 * length catches truncation independently. The algorithm is part of the string so a later
 * version can switch without misreading old checkpoints.
 */
import { crc32 } from 'node:zlib';

const PREFIX = 'crc32:';

/** `crc32:` followed by 8 lowercase hex digits. */
export function checksumOf(data: Uint8Array | string): string {
  return checksumFromCrc(crc32(data));
}

/** The checksum of the parts' bytes one after the other (the same as of them joined). */
export function checksumOfParts(parts: readonly Uint8Array[]): string {
  let crc = 0;
  // An empty view of a transferred buffer has no data pointer, and zlib's crc32(crc, NULL, 0)
  // returns 0 (its way to ask for the initial value), not crc: empty parts are skipped.
  for (const p of parts) if (p.byteLength > 0) crc = crc32(p, crc);
  return checksumFromCrc(crc);
}

/** The checksum string of a CRC-32 taken elsewhere (a heap snapshot's, on its packer thread). */
export function checksumFromCrc(crc: number): string {
  return PREFIX + (crc >>> 0).toString(16).padStart(8, '0');
}

/** Whether a recorded checksum is in a form this version can verify. */
export function isSupportedChecksum(checksum: unknown): checksum is string {
  return typeof checksum === 'string' && /^crc32:[0-9a-f]{8}$/.test(checksum);
}
