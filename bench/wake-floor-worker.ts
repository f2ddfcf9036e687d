/**
 * The two threads of wake-floor.ts, each waiting as a task does (Atomics.waitAsync on a shared
 * cell, its event loop free meanwhile). A: a source with an armed trigger, sleeping in a wait
 * bounded by the due time (workers/source-trigger.ts), records when it ran and rings B. B: the
 * task downstream, woken by that ring, records when it ran.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { keepAlive } from '../core/channel/keep-alive.js';
import {
  FLOOR_DONE,
  FLOOR_DUE_F64,
  FLOOR_SAMPLE,
  FLOOR_SEQ_A,
  FLOOR_SEQ_B,
  FLOOR_STOP,
  floorAAt,
  floorBAt,
  type FloorWorkerData,
} from './wake-floor-layout.js';

const d = workerData as FloorWorkerData;
const cells = new Int32Array(d.cells, 0, 8);
const f64 = new Float64Array(d.cells);
const now = () => performance.timeOrigin + performance.now();

/** Waits until `cells[at]` moves from `seq` or `ms` passes (ms undefined: no limit). */
async function wait(at: number, seq: number, ms?: number): Promise<void> {
  const r = Atomics.waitAsync(cells, at, seq, ms);
  if (r.async) await keepAlive(r.value);
}

/** Answers every ring of doorbell `at` with `onRing` (given the doorbell's new value) until stopped. */
async function answer(at: number, onRing: (seq: number) => unknown): Promise<void> {
  let seq = Atomics.load(cells, at);
  parentPort!.postMessage('ready');
  for (;;) {
    await wait(at, seq);
    seq = Atomics.load(cells, at);
    if (Atomics.load(cells, FLOOR_STOP) !== 0) return;
    await onRing(seq);
  }
}

/** A: as a source with an armed trigger, sleeps until the due time (waking early only to sleep again), then rings B. */
async function sampleA(seq: number): Promise<void> {
  const k = Atomics.load(cells, FLOOR_SAMPLE);
  const due = f64[FLOOR_DUE_F64];
  for (let left = due - now(); left > 0; left = due - now()) await wait(FLOOR_SEQ_A, seq, left);
  f64[floorAAt(k)] = now();
  Atomics.add(cells, FLOOR_SEQ_B, 1);
  Atomics.notify(cells, FLOOR_SEQ_B);
}

/** B: as the task downstream, records when it ran. */
function sampleB(): void {
  f64[floorBAt(Atomics.load(cells, FLOOR_SAMPLE))] = now();
  Atomics.add(cells, FLOOR_DONE, 1);
  Atomics.notify(cells, FLOOR_DONE);
}

void (d.role === 'a' ? answer(FLOOR_SEQ_A, sampleA) : answer(FLOOR_SEQ_B, sampleB));
