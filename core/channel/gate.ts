/**
 * The doorbell a consuming task parks on. All rings feeding one task ring the same gate, so a
 * task with many inputs waits on one address; the main thread and the task's own control
 * port ring it too, to wake a parked task for a command or a cancellation.
 *
 * Parking uses Atomics.waitAsync, not Atomics.wait: the worker's event loop must keep
 * running while the task sleeps (LMDB commits, snapshot writes, control messages, timers).
 * The one exception is a source blocked for output space (workers/waits.ts, BlockingDrain),
 * which waits on this gate with its thread blocked, a few ms at a time.
 */
import { GATE_BYTES, GATE_PARKED, GATE_SEQ } from './layout.js';
import { keepAlive } from './keep-alive.js';
import { ringGate } from './ring.js';
import type { TimeAccount } from './time-account.js';

export function createGate(): SharedArrayBuffer {
  return new SharedArrayBuffer(GATE_BYTES);
}

export class Gate {
  private readonly cells: Int32Array;
  private seq = 0;

  /** `idle` accounts the time parked (the task's idle time), when given. */
  constructor(
    gate: SharedArrayBuffer,
    private readonly idle?: TimeAccount,
  ) {
    this.cells = new Int32Array(gate);
  }

  /**
   * Call before checking the inputs: any frame published after this call makes the next
   * `park` return at once.
   */
  arm(): void {
    this.seq = Atomics.load(this.cells, GATE_SEQ);
    // Announce the intent to sleep before the caller's final check of its inputs (the
    // producers read GATE_PARKED after publishing; see RingProducer.publish).
    Atomics.store(this.cells, GATE_PARKED, 1);
  }

  /** Un-arm without sleeping: the final check found work. */
  disarm(): void {
    Atomics.store(this.cells, GATE_PARKED, 0);
  }

  /** Sleeps until rung (or `timeoutMs` passes). Must follow `arm` and a final input check. */
  async park(timeoutMs?: number): Promise<void> {
    const r = Atomics.waitAsync(this.cells, GATE_SEQ, this.seq, timeoutMs);
    if (r.async) {
      this.idle?.begin();
      await keepAlive(r.value);
      this.idle?.end();
    }
    Atomics.store(this.cells, GATE_PARKED, 0);
  }

  /** Wakes the task parked on this gate (from any thread, including its own). */
  ring(): void {
    ringGate(this.cells);
  }
}
