/**
 * The slot pool: piscina with one thread per task of the job. A task runs for the job's life,
 * so the pool is sized to run them all at once; threads stay warm between restart attempts
 * (the job module stays imported in each of them).
 */
import { Piscina } from 'piscina';
import type { TaskOutcome, TaskSpec } from './messages.js';

const WORKER_ENTRY = new URL('../../workers/bootstrap.js', import.meta.url).href;

export class SlotPool {
  private readonly piscina: Piscina;

  constructor(slots: number) {
    this.piscina = new Piscina({
      filename: WORKER_ENTRY,
      minThreads: slots,
      maxThreads: slots,
      concurrentTasksPerWorker: 1,
      idleTimeout: 60_000,
      // 'sync' would block an idle worker's event loop in Atomics.wait between tasks; ours
      // must stay live for late I/O of the task that just ended.
      atomics: 'disabled',
    });
  }

  run(spec: TaskSpec, signal: AbortSignal): Promise<TaskOutcome> {
    return this.piscina.run(spec, { transferList: [spec.port], signal }) as Promise<TaskOutcome>;
  }

  async destroy(): Promise<void> {
    await this.piscina.destroy();
  }
}
