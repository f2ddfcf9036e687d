/**
 * Float64Arrays for captured key groups, reused across snapshots. A full capture of 2M keys
 * allocates about 64 MB of typed arrays each checkpoint; allocated fresh, that external memory
 * made V8 run extra full collections of a heap holding millions of entries, on the record
 * loop. The packer thread hands the buffers back once it has packed them (snapshot-packer.ts),
 * and the next capture takes them from here. One pool per thread (module state).
 */

/** Buffers kept at most (bytes); past this, returned buffers are left to the GC. */
const POOL_MAX_BYTES = 256 * 1024 * 1024;

const free: ArrayBuffer[] = [];
let freeBytes = 0;

/** A Float64Array of exactly `n` elements, over a pooled buffer when one is big enough. */
export function takeFloats(n: number): Float64Array {
  const bytes = n * 8;
  let best = -1;
  for (let i = 0; i < free.length; i++) {
    const size = free[i].byteLength;
    if (size >= bytes && (best < 0 || size < free[best].byteLength)) best = i;
  }
  if (best < 0) return new Float64Array(new ArrayBuffer(Math.ceil(bytes * 1.125) + 8), 0, n); // room for later, slightly bigger groups
  const buf = free[best];
  free[best] = free[free.length - 1];
  free.pop();
  freeBytes -= buf.byteLength;
  return new Float64Array(buf, 0, n);
}

/** Buffers no one uses any more (their contents are garbage to the next taker). */
export function giveFloats(buffers: readonly ArrayBuffer[]): void {
  for (const b of buffers) {
    if (freeBytes + b.byteLength > POOL_MAX_BYTES) return;
    free.push(b);
    freeBytes += b.byteLength;
  }
}
