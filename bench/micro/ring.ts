/**
 * Ring throughput by frame size next to postMessage between the same two threads (this thread
 * producing, one worker consuming). One task call sends a burst of frames and waits until the
 * consumer has taken them all, so a figure is end-to-end: copy in, publish, consume, release.
 * The ring consumer reads each payload in place (as the engine's decoder does); postMessage
 * copies it by structured clone, which is what a postMessage pipeline pays.
 */
import { Worker } from 'node:worker_threads';
import { createGate } from '../../core/channel/gate.js';
import { DEFAULT_RING_CAPACITY, FRAME_RECORDS } from '../../core/channel/layout.js';
import { RingProducer, createRing } from '../../core/channel/ring.js';
import { COUNTER_CONSUMED, COUNTER_INT32S } from './ring-layout.js';
import { runGroup, type MicroRow } from './tiny.js';

export const FRAME_SIZES = [64, 1024, 16 * 1024, 64 * 1024];
/** Bytes per burst: large enough to amortize the wait at the end, small enough for many samples. */
const BURST_BYTES = 4 * 1024 * 1024;

async function waitFor(counter: Int32Array, target: number): Promise<void> {
  for (;;) {
    const v = Atomics.load(counter, COUNTER_CONSUMED);
    if (v >= target) return;
    const r = Atomics.waitAsync(counter, COUNTER_CONSUMED, v);
    if (r.async) await r.value;
  }
}

function peer(mode: 'ring' | 'postMessage') {
  const ring = createRing(DEFAULT_RING_CAPACITY);
  const gate = createGate();
  const counterBuf = new SharedArrayBuffer(COUNTER_INT32S * 4);
  const worker = new Worker(new URL('./ring-peer.js', import.meta.url), { workerData: { mode, ring, gate, counter: counterBuf } });
  return { worker, producer: new RingProducer(ring, gate), counter: new Int32Array(counterBuf), sent: 0 };
}

export async function benchRing(timeMs: number): Promise<MicroRow[]> {
  const ring = peer('ring');
  const pm = peer('postMessage');
  try {
    const tasks = FRAME_SIZES.flatMap((size) => {
      const payload = new Uint8Array(size).fill(7);
      const burst = Math.max(16, Math.min(4096, Math.floor(BURST_BYTES / size)));
      const extra = (framesPerSec: number) => ({ frameBytes: size, bytesPerSec: framesPerSec * size });
      return [
        {
          name: `ring ${size} B`,
          unitsPerCall: burst,
          extra,
          fn: async () => {
            const p = ring.producer;
            for (let i = 0; i < burst; i++) while (!p.tryWrite(FRAME_RECORDS, 0, payload)) await p.waitForSpace(size);
            ring.sent += burst;
            await waitFor(ring.counter, ring.sent);
          },
        },
        {
          name: `postMessage ${size} B`,
          unitsPerCall: burst,
          extra,
          fn: async () => {
            for (let i = 0; i < burst; i++) pm.worker.postMessage(payload);
            pm.sent += burst;
            await waitFor(pm.counter, pm.sent);
          },
        },
      ];
    });
    return await runGroup('ring', 'frames', timeMs, tasks);
  } finally {
    ring.producer.close();
    pm.worker.postMessage(null);
    await Promise.all([ring.worker.terminate(), pm.worker.terminate()]);
  }
}
