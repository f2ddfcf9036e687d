/**
 * How long a parked thread takes to run after it is notified, alone and while other threads
 * spin on every core: the floor under a checkpoint's start delay at a backpressured source,
 * which waits for output space (Atomics.waitAsync on its gate) while the slow sink threads
 * busy-wait, and is woken by a trigger the main thread posts (ringGate: savepoints, final
 * checkpoints; periodic ones are armed ahead and end the source's own timed wait, which
 * wake-floor.ts measures inside the backpressure bench, under the job's own load).
 *
 *   node dist/bench/wake-latency.js [--samples N] [--spinners 0,2,4]
 *
 * For each number of spinners: Atomics.wait (the OS wake-up alone) and Atomics.waitAsync (the
 * OS wake-up, then the worker's event loop running the continuation), notified from the main
 * thread at random 1-4 ms intervals; p50 / p90 / p99 / max in ms.
 */
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { WAKE_CELLS, WAKE_SEQ, WAKE_STOP, type WakeWorkerData } from './wake-latency-layout.js';

const WORKER = new URL('./wake-latency-worker.js', import.meta.url);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function pct(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function measure(role: 'wait' | 'waitAsync', spinners: number, samples: number): Promise<Float64Array> {
  const cells = new SharedArrayBuffer(WAKE_CELLS * Int32Array.BYTES_PER_ELEMENT);
  const sentAt = new SharedArrayBuffer(8);
  const latencies = new SharedArrayBuffer(samples * 8);
  const data = (r: WakeWorkerData['role']): WakeWorkerData => ({ role: r, cells, sentAt, latencies });
  const spin = Array.from({ length: spinners }, () => new Worker(WORKER, { workerData: data('spin') }));
  const waiter = new Worker(WORKER, { workerData: data(role) });
  const c = new Int32Array(cells);
  const sent = new Float64Array(sentAt);
  let armed = 0;
  let done = false;
  waiter.on('message', (m) => (m === 'armed' ? armed++ : (done = m === 'done')));
  await sleep(200); // threads started and spinning
  for (let k = 0; k < samples; k++) {
    while (armed <= k) await sleep(1);
    await sleep(1 + Math.random() * 3);
    sent[0] = performance.timeOrigin + performance.now();
    Atomics.add(c, WAKE_SEQ, 1);
    Atomics.notify(c, WAKE_SEQ);
  }
  while (!done) await sleep(1);
  Atomics.store(c, WAKE_STOP, 1);
  await Promise.all([waiter, ...spin].map((w) => w.terminate()));
  return new Float64Array(latencies).sort();
}

const { values } = parseArgs({ options: { samples: { type: 'string', default: '500' }, spinners: { type: 'string' } } });
const samples = Number(values.samples);
const cores = availableParallelism();
const counts = values.spinners ? values.spinners.split(',').map(Number) : [0, cores, cores * 2];
console.log(`wake-up latency after a notify from the main thread, ${samples} samples each, ${cores} cores (ms)`);
console.log('  spinners  wait                       p50     p90     p99     max');
for (const n of counts) {
  for (const role of ['wait', 'waitAsync'] as const) {
    const s = await measure(role, n, samples);
    const f = (x: number) => x.toFixed(3).padStart(7);
    console.log(
      `  ${String(n).padStart(8)}  ${`Atomics.${role}`.padEnd(22)}  ${f(pct(s, 50))} ${f(pct(s, 90))} ${f(pct(s, 99))} ${f(s[s.length - 1])}`,
    );
  }
}
