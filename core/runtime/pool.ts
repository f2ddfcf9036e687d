/**
 * The slot pool: piscina threads, one per task of the job. A task runs for the job's life, so a
 * job holds as many threads as it has tasks; threads stay warm between restart attempts (the
 * job module stays imported in each of them).
 *
 * Threads also stay warm between jobs of one process: the piscina pools of a job that ended
 * cleanly are kept idle for IDLE_POOL_MS and handed to the next jobs, whatever their size. A
 * job takes the smallest kept pool that has threads enough, else every kept pool and a new one
 * for the threads still missing; a job with fewer tasks than a pool's threads leaves the rest
 * idle. Starting a thread (V8 isolate, the engine's modules, msgpackr, the job module) costs
 * about 0.4-0.5 s of CPU on this machine, and test files, benchmarks and SQL sessions run many
 * small jobs of different sizes in one process: reused only at the same size, the SQL tests
 * started 563 threads for 753 tasks. A worker that ran job X before imports X from its module
 * cache, as the main thread does (module-loader.ts).
 *
 * Kept pools are grouped by what their threads loaded beyond the engine, named by the build
 * notes of the jobs they ran (SQL's parsed statements: its threads loaded core/sql), so that a
 * DataStream job never runs where SQL is loaded. Idle piscina threads are unref'd, so a kept
 * pool never keeps the process alive.
 */
import { Piscina } from 'piscina';
import type { TaskOutcome, TaskSpec } from './messages.js';

const WORKER_ENTRY = new URL('../../workers/bootstrap.js', import.meta.url).href;

/** How long an idle pool waits for the next job before its threads are stopped. */
export const IDLE_POOL_MS = 10_000;

/** At most this many idle threads per kind are kept; a pool beyond it is stopped. */
const MAX_IDLE_THREADS = 48;

interface Part {
  readonly piscina: Piscina;
  readonly threads: number;
  /** Tasks started and not yet settled: a part with one still running is never handed on. */
  running: number;
  /** A task's worker died or was terminated: do not hand these threads to another job. */
  tainted: boolean;
}

interface Kept {
  readonly piscina: Piscina;
  readonly threads: number;
  readonly timer: NodeJS.Timeout;
}

/** Idle pools by kind (what their threads loaded), each list in the order they were kept. */
const idlePools = new Map<string, Kept[]>();

function createPiscina(threads: number): Piscina {
  return new Piscina({
    filename: WORKER_ENTRY,
    minThreads: threads,
    maxThreads: threads,
    concurrentTasksPerWorker: 1,
    idleTimeout: 60_000,
    // 'sync' would block an idle worker's event loop in Atomics.wait between tasks; ours
    // must stay live for late I/O of the task that just ended.
    atomics: 'disabled',
  });
}

/** Takes kept pools of `kind` with at least `slots` threads in all, fewest threads first where one suffices. */
function takeKept(kind: string, slots: number): Kept[] {
  const kept = idlePools.get(kind) ?? [];
  const fits = kept.filter((k) => k.threads >= slots).sort((a, b) => a.threads - b.threads)[0];
  const taken = fits ? [fits] : [...kept];
  const left = kept.filter((k) => !taken.includes(k));
  if (left.length > 0) idlePools.set(kind, left);
  else idlePools.delete(kind);
  for (const k of taken) clearTimeout(k.timer);
  return taken;
}

function keep(kind: string, piscina: Piscina, threads: number): boolean {
  const kept = idlePools.get(kind) ?? [];
  if (kept.reduce((n, k) => n + k.threads, 0) + threads > MAX_IDLE_THREADS) return false;
  const timer = setTimeout(() => {
    const list = idlePools.get(kind);
    const i = list?.findIndex((k) => k.piscina === piscina) ?? -1;
    if (i < 0) return;
    list!.splice(i, 1);
    if (list!.length === 0) idlePools.delete(kind);
    void piscina.destroy();
  }, IDLE_POOL_MS);
  timer.unref();
  kept.push({ piscina, threads, timer });
  idlePools.set(kind, kept);
  return true;
}

export class SlotPool {
  private readonly parts: Part[];
  private readonly kind: string;

  /**
   * A pool of `slots` threads for one job. `kind` names what the job's threads load beyond the
   * engine (the keys of its build notes; '' for none): kept threads serve only jobs of the same kind.
   */
  constructor(slots: number, kind = '') {
    this.kind = kind;
    this.parts = takeKept(kind, slots).map((k) => ({ piscina: k.piscina, threads: k.threads, running: 0, tainted: false }));
    const missing = slots - this.parts.reduce((n, p) => n + p.threads, 0);
    if (missing > 0) this.parts.push({ piscina: createPiscina(missing), threads: missing, running: 0, tainted: false });
  }

  run(spec: TaskSpec, signal: AbortSignal): Promise<TaskOutcome> {
    // A task holds its thread for the job's life: one queued behind another would never start.
    const part = this.parts.find((p) => p.running < p.threads) ?? this.parts[0]!;
    part.running++;
    const p = part.piscina.run(spec, { transferList: [spec.port], signal }) as Promise<TaskOutcome>;
    return p.then(
      (o) => {
        part.running--;
        return o;
      },
      (err: unknown) => {
        part.running--;
        part.tainted = true;
        throw err;
      },
    );
  }

  /** Ends this job's use of the threads: they are kept for the next job or stopped. */
  async destroy(): Promise<void> {
    const stop: Piscina[] = [];
    for (const p of this.parts) if (p.running > 0 || p.tainted || !keep(this.kind, p.piscina, p.threads)) stop.push(p.piscina);
    await Promise.all(stop.map((p) => p.destroy()));
  }
}

/**
 * Stops every kept idle pool now, so the next job starts on fresh threads. For a benchmark
 * that compares jobs: a kept thread carries what earlier jobs left (heap, optimised code), and
 * each job should start from the same place.
 */
export async function stopIdlePools(): Promise<void> {
  const pools = [...idlePools.values()].flat();
  idlePools.clear();
  for (const { timer } of pools) clearTimeout(timer);
  await Promise.all(pools.map(({ piscina }) => piscina.destroy()));
}
