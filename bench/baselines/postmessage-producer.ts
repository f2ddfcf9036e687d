// Producer half of the postMessage baseline: the benchmark job's records, batched, sent by
// structured clone; waits for a credit whenever WINDOW batches are unacknowledged.
import { parentPort, workerData } from 'node:worker_threads';

const { count, keys, batchSize, window } = workerData as { count: number; keys: number; batchSize: number; window: number };
const port = parentPort!;
let credits = window;
let wake: (() => void) | null = null;
port.on('message', () => {
  credits++;
  if (wake) {
    const w = wake;
    wake = null;
    w();
  }
});

let batch: { key: number; value: number }[] = [];
for (let i = 0; i < count; i++) {
  batch.push({ key: i % keys, value: i });
  if (batch.length === batchSize || i === count - 1) {
    while (credits === 0) await new Promise<void>((r) => (wake = r));
    credits--;
    port.postMessage(batch);
    batch = [];
  }
}
port.postMessage(null);
port.unref();
