/**
 * The slot pool: piscina with one thread per task of the job. A task runs for the job's life,
 * so the pool is sized to run them all at once; threads stay warm between restart attempts
 * (the job module stays imported in each of them).
 *
 * Threads also stay warm between jobs of one process: a pool whose job ended cleanly is kept
 * idle for IDLE_POOL_MS and handed to the next job that needs the same number of threads.
 * Starting a thread (V8 isolate, the runtime's modules, msgpackr) costs tens of ms each and
 * the threads of a job start on the same cores, so for short jobs (benchmarks, tests, the
 * `eddy` CLI's repeated runs in one process) it was most of the fixed cost per job. It is the
 * same as the main thread, which imports a job module once per process (module-loader.ts):
 * a worker that ran job X before imports X from its module cache.
 * Idle piscina threads are unref'd, so a kept pool never keeps the process alive.
 */
import { Piscina } from 'piscina';
import type { TaskOutcome, TaskSpec } from './messages.js';

const WORKER_ENTRY = new URL('../../workers/bootstrap.js', import.meta.url).href;

/** How long an idle pool waits for the next job before its threads are stopped. */
export const IDLE_POOL_MS = 10_000;

/** At most one idle pool per thread count (jobs in one process usually have one shape). */
const idlePools = new Map<number, { piscina: Piscina; timer: NodeJS.Timeout }>();

function createPiscina(slots: number): Piscina {
  return new Piscina({
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

export class SlotPool {
  private readonly piscina: Piscina;
  private readonly slots: number;
  /** Tasks started and not yet settled: a pool with one still running is never reused. */
  private running = 0;
  /** A task's worker died or was terminated: do not hand these threads to another job. */
  private tainted = false;

  constructor(slots: number) {
    this.slots = slots;
    const kept = idlePools.get(slots);
    if (kept) {
      idlePools.delete(slots);
      clearTimeout(kept.timer);
      this.piscina = kept.piscina;
    } else this.piscina = createPiscina(slots);
  }

  run(spec: TaskSpec, signal: AbortSignal): Promise<TaskOutcome> {
    this.running++;
    const p = this.piscina.run(spec, { transferList: [spec.port], signal }) as Promise<TaskOutcome>;
    return p.then(
      (o) => {
        this.running--;
        return o;
      },
      (err: unknown) => {
        this.running--;
        this.tainted = true;
        throw err;
      },
    );
  }

  /** Ends this job's use of the threads: they are kept for the next job or stopped. */
  async destroy(): Promise<void> {
    if (this.running === 0 && !this.tainted && !idlePools.has(this.slots)) {
      const piscina = this.piscina;
      const timer = setTimeout(() => {
        if (idlePools.get(this.slots)?.piscina === piscina) idlePools.delete(this.slots);
        void piscina.destroy();
      }, IDLE_POOL_MS);
      timer.unref();
      idlePools.set(this.slots, { piscina, timer });
      return;
    }
    await this.piscina.destroy();
  }
}

/**
 * Stops every kept idle pool now, so the next job starts on fresh threads. For a benchmark
 * that compares jobs: a kept thread carries what earlier jobs left (heap, optimised code), and
 * each job should start from the same place.
 */
export async function stopIdlePools(): Promise<void> {
  const pools = [...idlePools.values()];
  idlePools.clear();
  for (const { timer } of pools) clearTimeout(timer);
  await Promise.all(pools.map(({ piscina }) => piscina.destroy()));
}
