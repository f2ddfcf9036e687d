/**
 * Does V8's one process-wide futex mutex delay a timed Atomics.wait's return? (issue 13: a
 * source asleep past the end of its wait, with no run-queue wait.) The main thread takes N
 * timed waits of 2 ms on a word of its own while two helper threads spin: `plain` in a busy
 * loop, `notify` in a busy loop that calls Atomics.notify on a word nobody waits on. Per wait:
 * wall time past the timeout less the main thread's own run-queue wait and CPU (schedstat) =
 * time it slept past the end of its wait. Linux only (schedstat).
 *
 *   node dist/bench/futex-mutex.js plain|notify [WAITS]
 */
import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { percentile } from './stats.js';

const SPINNER = `
const { workerData } = require('node:worker_threads');
const other = new Int32Array(new SharedArrayBuffer(4));
const stop = new Int32Array(workerData.stop);
let x = 0;
while (Atomics.load(stop, 0) === 0) {
  if (workerData.notify) for (let i = 0; i < 50; i++) Atomics.notify(other, 0);
  else for (let i = 0; i < 5000; i++) x += i;
}`;

const WAIT_MS = 2;

function sched(): [cpuMs: number, runQueueMs: number] {
  const f = readFileSync('/proc/thread-self/schedstat', 'latin1').split(' ');
  return [Number(f[0]) / 1e6, Number(f[1]) / 1e6];
}

async function main(): Promise<void> {
  const mode = process.argv[2];
  const waits = Number(process.argv[3] ?? 3000);
  if ((mode !== 'plain' && mode !== 'notify') || !Number.isInteger(waits) || waits < 1) {
    console.error('usage: node dist/bench/futex-mutex.js plain|notify [WAITS]');
    process.exit(2);
  }
  const stop = new SharedArrayBuffer(4);
  const spinners = [0, 1].map(() => new Worker(SPINNER, { eval: true, workerData: { stop, notify: mode === 'notify' } }));
  await new Promise((resolve) => setTimeout(resolve, 300));
  const word = new Int32Array(new SharedArrayBuffer(4));
  const past: number[] = [];
  for (let i = 0; i < waits; i++) {
    const [c0, q0] = sched();
    const t0 = performance.now();
    Atomics.wait(word, 0, 0, WAIT_MS);
    const t1 = performance.now();
    const [c1, q1] = sched();
    past.push(t1 - t0 - WAIT_MS - (q1 - q0) - (c1 - c0));
  }
  Atomics.store(new Int32Array(stop), 0, 1);
  await Promise.all(spinners.map((w) => new Promise((resolve) => w.once('exit', resolve))));
  const q = (p: number) => percentile(past, p)!.toFixed(2);
  console.log(
    `${mode.padEnd(6)} asleep past the end of a ${WAIT_MS} ms wait (ms): p50 ${q(50)} p99 ${q(99)} p99.9 ${q(99.9)} max ${q(100)}; over 1 ms: ${past.filter((x) => x > 1).length} of ${waits}`,
  );
}

await main();
