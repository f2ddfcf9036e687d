/**
 * Keyed count as a Node streams object-mode pipeline on one thread: a Readable that makes the
 * records, a Transform that counts per key and emits the new count (as the engine's count
 * operator does), a Writable that drops it. What a Node user would write without eddy.
 */
import { Readable, Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export async function nodeStreamsKeyedCount(count: number, keys: number): Promise<{ ms: number; distinct: number }> {
  const counts = new Map<number, number>();
  let i = 0;
  let sunk = 0;
  const started = performance.now();
  await pipeline(
    new Readable({
      objectMode: true,
      read() {
        // Fill up to the high-water mark per call, as a real source would.
        while (i < count) if (!this.push({ key: i % keys, value: i++ })) return;
        this.push(null);
      },
    }),
    new Transform({
      objectMode: true,
      transform(r: { key: number; value: number }, _enc, done) {
        const n = (counts.get(r.key) ?? 0) + 1;
        counts.set(r.key, n);
        done(null, n);
      },
    }),
    new Writable({
      objectMode: true,
      write(_n, _enc, done) {
        sunk++;
        done();
      },
    }),
  );
  const ms = performance.now() - started;
  if (sunk !== count) throw new Error(`node streams baseline delivered ${sunk} of ${count}`);
  return { ms, distinct: counts.size };
}
