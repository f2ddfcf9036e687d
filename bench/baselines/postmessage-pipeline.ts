/**
 * Keyed count over `postMessage`: a producer worker sends batches of records (structured
 * clone) to the main thread, which counts per key in a Map. Flow control by credits (at most
 * WINDOW batches in flight, the consumer returns one credit per batch) so memory stays bounded
 * as it does with the ring. The same batch size as the engine's default.
 */
import { Worker } from 'node:worker_threads';

/** Batches in flight: about what a 256 KiB ring holds of 512-record batches. */
const WINDOW = 16;

export async function postMessageKeyedCount(count: number, keys: number, batchSize = 512): Promise<{ ms: number; distinct: number }> {
  const counts = new Map<number, number>();
  const started = performance.now();
  const worker = new Worker(new URL('./postmessage-producer.js', import.meta.url), {
    workerData: { count, keys, batchSize, window: WINDOW },
  });
  let seen = 0;
  await new Promise<void>((resolve, reject) => {
    worker.on('error', reject);
    worker.on('message', (batch: { key: number; value: number }[] | null) => {
      if (batch === null) return resolve();
      for (let i = 0; i < batch.length; i++) {
        const k = batch[i].key;
        counts.set(k, (counts.get(k) ?? 0) + 1);
      }
      seen += batch.length;
      worker.postMessage(1);
    });
  });
  const ms = performance.now() - started;
  await worker.terminate();
  if (seen !== count) throw new Error(`postMessage baseline lost records: ${seen} of ${count}`);
  return { ms, distinct: counts.size };
}
