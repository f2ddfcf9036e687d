/**
 * Key-group math, after Flink's KeyGroupRangeAssignment: a key hashes to one of
 * `maxParallelism` key groups; subtask i of p owns a contiguous range of them. State is
 * stored and snapshotted per key group, so rescaling moves whole groups between subtasks.
 *
 * Pure and without imports: the partitioner (producer side) and the state backend (consumer
 * side) must agree bit for bit, on every thread and in every run.
 */

export const DEFAULT_MAX_PARALLELISM = 128;
export const MAX_MAX_PARALLELISM = 32768;

/** murmur3 32-bit finalisation mix. */
function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function mixK(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** murmur3 over the UTF-16 code units of a string, two units per block, no allocation. */
function hashString(s: string, seed: number): number {
  let h = seed;
  const n = s.length;
  let i = 0;
  for (; i + 1 < n; i += 2) h = mixK(h, s.charCodeAt(i) | (s.charCodeAt(i + 1) << 16));
  if (i < n) h = mixK(h, s.charCodeAt(i));
  return fmix(h ^ n);
}

const F64 = new Float64Array(1);
const U32 = new Uint32Array(F64.buffer);

function hashNumber(x: number, seed: number): number {
  // Integers hash by value so 3 and 3.0 agree; -0 is folded into 0.
  if (Number.isInteger(x) && x >= -2147483648 && x <= 2147483647) return fmix(mixK(seed, x | 0) ^ 4);
  F64[0] = x === 0 ? 0 : x;
  return fmix(mixK(mixK(seed, U32[0]), U32[1]) ^ 8);
}

/**
 * A stable 32-bit hash of a key. Keys are strings, numbers, bigints, booleans, null, or
 * arrays of those (composite keys); objects hash by their JSON form, which is stable only if
 * they are built the same way (prefer a string or an array key).
 */
export function hashKey(key: unknown, seed = 0x9747b28c): number {
  switch (typeof key) {
    case 'string':
      return hashString(key, seed);
    case 'number':
      return hashNumber(key, seed);
    case 'boolean':
      return fmix(mixK(seed, key ? 1 : 2) ^ 1);
    case 'bigint':
      return hashString(key.toString(), seed ^ 0x5bd1e995);
    case 'undefined':
      return fmix(seed ^ 0x1f);
    case 'object': {
      if (key === null) return fmix(seed ^ 0x2f);
      if (Array.isArray(key)) {
        let h = seed;
        for (let i = 0; i < key.length; i++) h = mixK(h, hashKey(key[i], seed));
        return fmix(h ^ key.length);
      }
      return hashString(JSON.stringify(key), seed ^ 0x3c);
    }
    default:
      throw new TypeError(`a key must be a string, number, bigint, boolean, null or an array of those, got ${typeof key}`);
  }
}

/** The key group of a key, in [0, maxParallelism). */
export function keyGroupFor(key: unknown, maxParallelism: number): number {
  const h = hashKey(key);
  // hashKey is an unsigned 32-bit value: above 2^31 `%` runs as a floating-point modulo, paid
  // twice per record (partitioner and keyed operator). For the usual power-of-two max
  // parallelism a mask gives the same result as an integer operation.
  return (maxParallelism & (maxParallelism - 1)) === 0 ? h & (maxParallelism - 1) : h % maxParallelism;
}

/** The subtask that owns a key group (Flink's computeOperatorIndexForKeyGroup). */
export function subtaskForKeyGroup(keyGroup: number, maxParallelism: number, parallelism: number): number {
  return Math.floor((keyGroup * parallelism) / maxParallelism);
}

/** The key groups owned by a subtask: [start, end], inclusive as in Flink's KeyGroupRange. */
export function keyGroupRange(subtask: number, maxParallelism: number, parallelism: number): { start: number; end: number } {
  const start = Math.floor((subtask * maxParallelism + parallelism - 1) / parallelism);
  const end = Math.floor(((subtask + 1) * maxParallelism - 1) / parallelism);
  return { start, end };
}
