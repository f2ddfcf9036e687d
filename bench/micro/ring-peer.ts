// The consuming thread of the ring / postMessage micro-benchmark. Counts frames (or messages)
// and publishes the count in shared memory, so the producing thread can wait for a burst to be
// consumed without a message round trip of its own.
import { parentPort, workerData } from 'node:worker_threads';
import { Gate } from '../../core/channel/gate.js';
import { RING_CLOSED } from '../../core/channel/layout.js';
import { RingConsumer } from '../../core/channel/ring.js';
import { COUNTER_CONSUMED } from './ring-layout.js';

const { mode, ring, gate, counter } = workerData as {
  mode: 'ring' | 'postMessage';
  ring: SharedArrayBuffer;
  gate: SharedArrayBuffer;
  counter: SharedArrayBuffer;
};
const consumed = new Int32Array(counter);
let n = 0;

function publish(): void {
  Atomics.store(consumed, COUNTER_CONSUMED, n);
  Atomics.notify(consumed, COUNTER_CONSUMED);
}

if (mode === 'postMessage') {
  parentPort!.on('message', (m: Uint8Array | null) => {
    if (m === null) return parentPort!.close();
    n++;
    publish();
  });
} else {
  const c = new RingConsumer(ring);
  const g = new Gate(gate);
  let sink = 0;
  for (;;) {
    if (!c.poll()) {
      if (c.state === RING_CLOSED && c.drained) break;
      g.arm();
      if (c.poll()) g.disarm();
      else {
        await g.park();
        continue;
      }
    }
    // Touch the payload as a decoder would (a view into the ring, no copy).
    const p = c.payload();
    if (p.length > 0) sink += p[0];
    c.release();
    n++;
    publish();
  }
  if (sink < 0) console.log(sink);
}
