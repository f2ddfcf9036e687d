/**
 * Float64Arrays for captured key groups, reused across snapshots. A full capture of 2M keys
 * takes about 64 MB of typed arrays each checkpoint. They are SharedArrayBuffers: the packer
 * thread reads them where they are, and nothing is transferred either way. Transferred
 * buffers (as before) came back as new ArrayBuffers, 64 MB of fresh external memory per
 * checkpoint on the loop, and V8 answers external memory growth with a full collection of a
 * heap holding millions of entries: measured at 2M keys, 40 mark-compacts in a full-mode run
 * against 3 without checkpoints. One pool per thread (module state).
 */

/** Buffers kept at most (bytes); past this, returned buffers are left to the GC. */
const POOL_MAX_BYTES = 256 * 1024 * 1024;

const free: SharedArrayBuffer[] = [];
let freeBytes = 0;

/** A Float64Array of exactly `n` elements over a shared buffer, pooled when one is big enough. */
export function takeFloats(n: number): Float64Array {
  const bytes = n * 8;
  let best = -1;
  for (let i = 0; i < free.length; i++) {
    const size = free[i].byteLength;
    if (size >= bytes && (best < 0 || size < free[best].byteLength)) best = i;
  }
  if (best < 0) return new Float64Array(new SharedArrayBuffer(Math.ceil(bytes * 1.125) + 8), 0, n); // room for later, slightly bigger groups
  const buf = free[best];
  free[best] = free[free.length - 1];
  free.pop();
  freeBytes -= buf.byteLength;
  return new Float64Array(buf, 0, n);
}

/**
 * The pooled buffers under `arrays`, once no thread reads them any more (their contents are
 * garbage to the next taker). Each buffer is given back once, however many views it has. Past
 * the pool's bound the smallest go: a state that grows asks for ever bigger groups, and small
 * buffers kept instead of the returned big ones made every capture allocate anew (measured at
 * 2M keys: 4,000 pooled buffers, 500 MB allocated over a run).
 */
export function giveFloats(arrays: readonly Float64Array[]): void {
  for (const b of new Set(arrays.map((a) => a.buffer))) {
    if (!(b instanceof SharedArrayBuffer) || free.includes(b)) continue;
    free.push(b);
    freeBytes += b.byteLength;
  }
  if (freeBytes <= POOL_MAX_BYTES) return;
  free.sort((a, b) => b.byteLength - a.byteLength);
  while (freeBytes > POOL_MAX_BYTES) freeBytes -= free.pop()!.byteLength;
}
