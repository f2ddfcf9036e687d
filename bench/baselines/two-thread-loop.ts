/**
 * The practical limit for a keyed count on two threads: a producer worker feeding the main
 * thread through our ring and msgpackr batches, the consumer counting per key in a Map. No
 * graph, no operators, no state API: what the engine adds is measured against this.
 */
import { Worker } from 'node:worker_threads';
import { BatchDecoder } from '../../core/channel/codec.js';
import { Gate, createGate } from '../../core/channel/gate.js';
import { FRAME_END_OF_STREAM, FRAME_RECORDS } from '../../core/channel/layout.js';
import { RingConsumer, createRing } from '../../core/channel/ring.js';
import { DEFAULT_RING_CAPACITY } from '../../core/channel/layout.js';
import { DEFAULT_BATCH_SIZE } from '../../core/runtime/settings.js';

/**
 * Batches are as large as the engine's default, so the limit and the engine pay the same
 * per-frame costs: with a fixed 512 the engine's larger default would win part of the
 * comparison by batching alone.
 */
export async function twoThreadKeyedCount(
  count: number,
  keys: number,
  batchSize = DEFAULT_BATCH_SIZE,
): Promise<{ ms: number; distinct: number }> {
  const ring = createRing(DEFAULT_RING_CAPACITY);
  const gateBuf = createGate();
  const gate = new Gate(gateBuf);
  const consumer = new RingConsumer(ring);
  const decoder = new BatchDecoder();
  const counts = new Map<number, number>();
  const started = performance.now();
  const worker = new Worker(new URL('./two-thread-producer.js', import.meta.url), {
    workerData: { ring, gate: gateBuf, count, keys, batchSize },
  });
  const exited = new Promise<number>((resolve) => worker.once('exit', resolve));
  let seen = 0;
  for (;;) {
    if (!consumer.poll()) {
      gate.arm();
      if (consumer.poll()) gate.disarm();
      else await gate.park();
      continue;
    }
    if (consumer.frameType === FRAME_END_OF_STREAM) {
      consumer.release();
      break;
    }
    if (consumer.frameType === FRAME_RECORDS) {
      const records = decoder.decode(consumer.payload()) as { key: number; value: number }[];
      consumer.release();
      for (let i = 0; i < records.length; i++) {
        const k = records[i].key;
        counts.set(k, (counts.get(k) ?? 0) + 1);
      }
      seen += records.length;
    } else consumer.release();
  }
  const ms = performance.now() - started;
  await exited;
  if (seen !== count) throw new Error(`baseline lost records: ${seen} of ${count}`);
  return { ms, distinct: counts.size };
}
