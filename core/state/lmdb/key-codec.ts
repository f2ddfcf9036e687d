/**
 * Byte layout of LMDB keys: ordered by key group, then state table, then key, so one key
 * group of one subtask's range, or the whole range, is one contiguous cursor scan.
 *
 *   0      2      4     5
 *   ┌──────┬──────┬─────┬──────────────────────┐
 *   │ kg   │ tid  │ tag │ key bytes            │   kg, tid: big-endian u16
 *   └──────┴──────┴─────┴──────────────────────┘
 *
 *   tag  key bytes
 *   S    UTF-8 of a string (composite keys arrive here as their JSON text, see storedKey)
 *   N    float64 big-endian of a number
 *   B    decimal text of a bigint
 *   T/F  none (true / false)
 *   Z    none (null)
 *
 * Metadata of the environment lives under key group 0xFFFF, above any real key group
 * (MAX_MAX_PARALLELISM is 32768).
 */
import { EddyError } from '../../failure.js';

export const KEY_PREFIX_BYTES = 4;
export const META_KEY_GROUP = 0xffff;
const TAG_STRING = 0x53; // 'S'
const TAG_NUMBER = 0x4e; // 'N'
const TAG_BIGINT = 0x42; // 'B'
const TAG_TRUE = 0x54; // 'T'
const TAG_FALSE = 0x46; // 'F'
const TAG_NULL = 0x5a; // 'Z'

/** Reused for every key written: lmdb-js copies the key bytes it is given. */
let scratch = Buffer.allocUnsafe(4096);

function ensure(n: number): void {
  if (scratch.length < n) scratch = Buffer.allocUnsafe(Math.max(n, scratch.length * 2));
}

/**
 * The LMDB key of (key group, table, stored key), as a view of a shared scratch buffer: valid
 * until the next call. Use `encodeKeyCopy` to keep it.
 */
export function encodeKey(keyGroup: number, table: number, stored: unknown): Buffer {
  let n: number;
  if (typeof stored === 'string') {
    ensure(KEY_PREFIX_BYTES + 1 + stored.length * 3);
    scratch[4] = TAG_STRING;
    n = 5 + scratch.write(stored, 5, 'utf8');
  } else if (typeof stored === 'number') {
    ensure(13);
    scratch[4] = TAG_NUMBER;
    scratch.writeDoubleBE(stored, 5);
    n = 13;
  } else if (typeof stored === 'bigint') {
    const text = stored.toString();
    ensure(5 + text.length);
    scratch[4] = TAG_BIGINT;
    n = 5 + scratch.write(text, 5, 'latin1');
  } else if (stored === true || stored === false || stored === null) {
    scratch[4] = stored === true ? TAG_TRUE : stored === false ? TAG_FALSE : TAG_NULL;
    n = 5;
  } else {
    throw new EddyError(
      'STATE_FAILED',
      `a key of type ${typeof stored} cannot be stored in LMDB state; use a string, number, bigint, boolean or a JSON-able object`,
    );
  }
  scratch.writeUInt16BE(keyGroup, 0);
  scratch.writeUInt16BE(table, 2);
  return scratch.subarray(0, n);
}

export function encodeKeyCopy(keyGroup: number, table: number, stored: unknown): Buffer {
  return Buffer.from(encodeKey(keyGroup, table, stored));
}

/** The first key of a key group (inclusive start, or exclusive end of the group before). */
export function keyGroupPrefix(keyGroup: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(keyGroup, 0);
  return b;
}

/** The first key of one table in one key group. */
export function tablePrefix(keyGroup: number, table: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt16BE(keyGroup, 0);
  b.writeUInt16BE(table, 2);
  return b;
}

export function metaKey(name: string): Buffer {
  return Buffer.concat([keyGroupPrefix(META_KEY_GROUP), Buffer.from(name, 'utf8')]);
}

export interface DecodedKey {
  keyGroup: number;
  table: number;
  stored: unknown;
}

export function decodeKey(key: Uint8Array): DecodedKey {
  const b = Buffer.isBuffer(key) ? key : Buffer.from(key.buffer, key.byteOffset, key.byteLength);
  const keyGroup = b.readUInt16BE(0);
  const table = b.readUInt16BE(2);
  const tag = b[4];
  let stored: unknown;
  switch (tag) {
    case TAG_STRING:
      stored = b.toString('utf8', 5);
      break;
    case TAG_NUMBER:
      stored = b.readDoubleBE(5);
      break;
    case TAG_BIGINT:
      stored = BigInt(b.toString('latin1', 5));
      break;
    case TAG_TRUE:
      stored = true;
      break;
    case TAG_FALSE:
      stored = false;
      break;
    case TAG_NULL:
      stored = null;
      break;
    default:
      throw new EddyError('STATE_FAILED', `LMDB state holds a key with unknown tag ${tag} (key group ${keyGroup}, table ${table})`);
  }
  return { keyGroup, table, stored };
}

/** Where packStoredKey writes. */
let packScratch = Buffer.allocUnsafe(256);

/** The bytes packStoredKey wrote last (its first n bytes; valid until its next call). */
export function packedKeyBytes(): Buffer {
  return packScratch;
}

/**
 * Writes the msgpack encoding of the stored key inside LMDB key `key` into a scratch buffer
 * (packedKeyBytes), converted byte for byte without making a JS value (a full snapshot converts
 * every key): strings and non-negative integers below 2^32, the keys jobs use most. Returns
 * the bytes written, or 0 for any other form (decode it instead).
 */
export function packStoredKey(key: Buffer): number {
  const tag = key[4];
  if (tag === TAG_STRING) {
    const n = key.length - 5;
    if (n >= 0x10000) return 0;
    if (packScratch.length < n + 3) packScratch = Buffer.allocUnsafe(Math.max(n + 3, packScratch.length * 2));
    let at: number;
    if (n < 32) {
      packScratch[0] = 0xa0 | n;
      at = 1;
    } else {
      packScratch[0] = 0xda; // str16
      packScratch.writeUInt16BE(n, 1);
      at = 3;
    }
    key.copy(packScratch, at, 5);
    return at + n;
  }
  if (tag !== TAG_NUMBER) return 0;
  const v = key.readDoubleBE(5);
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) return 0;
  // The smallest unsigned form, as msgpackr writes it.
  if (v < 0x80) {
    packScratch[0] = v;
    return 1;
  }
  if (v < 0x100) {
    packScratch[0] = 0xcc;
    packScratch[1] = v;
    return 2;
  }
  if (v < 0x10000) {
    packScratch[0] = 0xcd;
    packScratch.writeUInt16BE(v, 1);
    return 3;
  }
  packScratch[0] = 0xce;
  packScratch.writeUInt32BE(v, 1);
  return 5;
}
