/**
 * The floor under a checkpoint's start delay, measured on the same cores under the same load
 * while a job runs: what the OS gives woken threads there, with no engine code involved.
 *
 * Since the trigger is armed ahead at the sources (core/checkpoint/armed-trigger.ts), the chain
 * a checkpoint's start needs is: a source's own timed wait ending at the due time, the source
 * running, and a task downstream getting a CPU to see the barrier. The probe rebuilds that chain
 * with two threads that wait as tasks do (Atomics.waitAsync, event loop free): the main thread
 * writes a due time 2–6 ms ahead and rings thread A; A sleeps until due, records when it ran
 * and rings thread B; B records when it ran. One sample every 4–10 ms.
 *
 * The task downstream in a job is usually busy rather than parked: a busy thread that lost its
 * CPU waits in the same run queue a woken one does, so B stands for it. The probe's threads
 * are two more threads on the cores (a few µs of CPU per sample).
 */
import { Worker } from 'node:worker_threads';
import {
  FLOOR_BYTES,
  FLOOR_DONE,
  FLOOR_DUE_F64,
  FLOOR_SAMPLE,
  FLOOR_SAMPLES,
  FLOOR_SEQ_A,
  FLOOR_SEQ_B,
  FLOOR_STOP,
  floorAAt,
  floorBAt,
  type FloorWorkerData,
} from './wake-floor-layout.js';
import { percentiles, type Percentiles } from './stats.js';

const WORKER = new URL('./wake-floor-worker.js', import.meta.url);

/** One probe's samples, ms: due → A running, A → B running, due → B running. */
export interface WakeFloorSamples {
  timedWake: number[];
  ringWake: number[];
  chain: number[];
}

/** Percentiles over the samples of one or more probes. */
export interface WakeFloor {
  samples: number;
  /** Due time → thread A running: a thread's own timed wait ending (a source taking its armed trigger). */
  timedWakeMs: Percentiles;
  /** A ringing → B running: a thread woken by another (a task downstream getting the barrier's CPU). */
  ringWakeMs: Percentiles;
  /** Due time → B running: the whole chain a checkpoint's start needs. */
  chainMs: Percentiles;
}

export interface WakeFloorProbe {
  /** Stops sampling; resolves with the samples taken. */
  stop(): Promise<WakeFloorSamples>;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const now = () => performance.timeOrigin + performance.now();

/** Starts the probe's two threads and samples until `stop`. */
export function startWakeFloor(): WakeFloorProbe {
  const buf = new SharedArrayBuffer(FLOOR_BYTES);
  const cells = new Int32Array(buf, 0, 8);
  const f64 = new Float64Array(buf);
  const threads = (['a', 'b'] as const).map((role) => new Worker(WORKER, { workerData: { role, cells: buf } satisfies FloorWorkerData }));
  // Each thread has read its doorbell before it says so: no ring can be missed after that.
  const ready = Promise.all(
    threads.map((t) => new Promise<void>((resolve, reject) => t.once('message', () => resolve()).once('error', reject))),
  );
  const dues: number[] = [];
  let stopping = false;
  const sampling = (async () => {
    await ready;
    for (let k = 0; k < FLOOR_SAMPLES && !stopping; k++) {
      const due = now() + 2 + Math.random() * 4;
      Atomics.store(cells, FLOOR_SAMPLE, k);
      f64[FLOOR_DUE_F64] = due;
      Atomics.add(cells, FLOOR_SEQ_A, 1);
      Atomics.notify(cells, FLOOR_SEQ_A);
      dues.push(due);
      // B counts the sample done; a sample lost to a stop is dropped below.
      const r = Atomics.waitAsync(cells, FLOOR_DONE, k, 2000);
      if (r.async) await r.value;
      if (Atomics.load(cells, FLOOR_DONE) <= k) break;
      await sleep(Math.random() * 4);
    }
  })();
  return {
    async stop() {
      stopping = true;
      await sampling;
      Atomics.store(cells, FLOOR_STOP, 1);
      for (const at of [FLOOR_SEQ_A, FLOOR_SEQ_B]) {
        Atomics.add(cells, at, 1);
        Atomics.notify(cells, at);
      }
      await Promise.all(threads.map((t) => t.terminate()));
      const done = Atomics.load(cells, FLOOR_DONE);
      const out: WakeFloorSamples = { timedWake: [], ringWake: [], chain: [] };
      for (let k = 0; k < done; k++) {
        const a = f64[floorAAt(k)];
        const b = f64[floorBAt(k)];
        out.timedWake.push(a - dues[k]);
        out.ringWake.push(b - a);
        out.chain.push(b - dues[k]);
      }
      return out;
    },
  };
}

/** Pools the samples of several probes. */
export function wakeFloor(runs: WakeFloorSamples[]): WakeFloor {
  const all = (f: (s: WakeFloorSamples) => number[]) => runs.flatMap(f);
  return {
    samples: all((s) => s.chain).length,
    timedWakeMs: percentiles(all((s) => s.timedWake)),
    ringWakeMs: percentiles(all((s) => s.ringWake)),
    chainMs: percentiles(all((s) => s.chain)),
  };
}
