/**
 * The threads of wake-latency.ts: a spinner (busy loop until told to stop, as a sink that
 * busy-waits per record), or a waiter that parks the way a task does and records, for each
 * wake-up, how long after the notify it ran.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { keepAlive } from '../core/channel/keep-alive.js';
import { WAKE_SEQ, WAKE_STOP, type WakeWorkerData } from './wake-latency-layout.js';

const d = workerData as WakeWorkerData;
const cells = new Int32Array(d.cells);
const sentAt = new Float64Array(d.sentAt);
const lat = new Float64Array(d.latencies);
/** The same clock on every thread: wall time at the thread's origin plus its monotonic time. */
const now = () => performance.timeOrigin + performance.now();

if (d.role === 'spin') {
  let x = 0;
  while (Atomics.load(cells, WAKE_STOP) === 0) for (let i = 0; i < 10_000; i++) x += i;
  parentPort!.postMessage(x);
} else if (d.role === 'wait') {
  // Atomics.wait: the OS wake-up alone, no event loop in between.
  for (let k = 0; k < lat.length; k++) {
    const seq = Atomics.load(cells, WAKE_SEQ);
    parentPort!.postMessage('armed');
    Atomics.wait(cells, WAKE_SEQ, seq);
    lat[k] = now() - sentAt[0];
  }
  parentPort!.postMessage('done');
} else {
  // Atomics.waitAsync, as a task parks on its gate or waits for output space: the wake-up
  // comes to the thread's event loop, which then runs the continuation.
  void (async () => {
    for (let k = 0; k < lat.length; k++) {
      const seq = Atomics.load(cells, WAKE_SEQ);
      parentPort!.postMessage('armed');
      const r = Atomics.waitAsync(cells, WAKE_SEQ, seq);
      // As a task waits (gate.ts, ring.ts): a pending waitAsync alone would let the thread exit.
      if (r.async) await keepAlive(r.value);
      lat[k] = now() - sentAt[0];
    }
    parentPort!.postMessage('done');
  })();
}
