// Producer half of the hand-written two-thread baseline: the same records as the benchmark
// job's generator, batched and packed with the same codec into the same ring, no engine.
import { workerData } from 'node:worker_threads';
import { BatchEncoder } from '../../core/channel/codec.js';
import { FRAME_END_OF_STREAM, FRAME_RECORDS } from '../../core/channel/layout.js';
import { RingProducer } from '../../core/channel/ring.js';

const { ring, gate, count, keys, batchSize } = workerData as {
  ring: SharedArrayBuffer;
  gate: SharedArrayBuffer;
  count: number;
  keys: number;
  batchSize: number;
};
const producer = new RingProducer(ring, gate);
const encoder = new BatchEncoder();
const batch: unknown[] = [];

async function send(type: number, payload?: Uint8Array): Promise<void> {
  while (!producer.tryWrite(type, 0, payload)) await producer.waitForSpace(payload ? payload.length : 0);
}

for (let i = 0; i < count; i++) {
  batch.push({ key: i % keys, value: i });
  if (batch.length === batchSize) {
    await send(FRAME_RECORDS, encoder.encode(batch));
    batch.length = 0;
  }
}
if (batch.length > 0) await send(FRAME_RECORDS, encoder.encode(batch));
await send(FRAME_END_OF_STREAM);
producer.close();
