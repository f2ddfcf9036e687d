/**
 * CPU time per thread of this process (Linux /proc/self/task), sampled while a job runs: the
 * record loop's own cost shows as its thread's time, which wall time on a busy machine cannot
 * show and the process total mixes with every other thread's. A thread that ends between two
 * samples loses at most one interval of its time.
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { ThreadRole } from '../core/thread-roles.js';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** The ids of this process's threads (empty where /proc does not exist: not Linux). */
function threadIds(): string[] {
  try {
    return readdirSync('/proc/self/task');
  } catch {
    return [];
  }
}

function sample(seen: Map<string, number>): void {
  for (const tid of threadIds()) {
    try {
      seen.set(tid, parseStatCpuMs(readFileSync(`/proc/self/task/${tid}/stat`, 'utf8')));
    } catch {
      // the thread ended
    }
  }
}

/** Each live thread's CPU ms so far, by thread id (a difference of two covers what ran between). */
export function threadCpuNow(): Map<number, number> {
  const seen = new Map<string, number>();
  sample(seen);
  return new Map([...seen].map(([tid, ms]) => [Number(tid), ms]));
}

/** CPU ms each thread spent between `before` and `after` (threads started since count from 0). */
export function cpuBetween(before: Map<number, number>, after: Map<number, number>): Map<number, number> {
  return new Map([...after].map(([tid, ms]) => [tid, ms - (before.get(tid) ?? 0)]));
}

/** Starts sampling; the returned function stops and gives each thread's CPU ms by thread id. */
export function sampleThreadCpu(intervalMs = 100): () => Map<number, number> {
  const seen = new Map<string, number>();
  const timer = setInterval(() => sample(seen), intervalMs);
  return () => {
    clearInterval(timer);
    sample(seen);
    return new Map([...seen].map(([tid, ms]) => [Number(tid), ms]));
  };
}

/** CPU ms of a job's threads by what they do (roles announced by the engine, core/thread-roles.ts). */
export interface ThreadCpu {
  /** Record loops of tasks with keyed state. */
  keyedTasks: number;
  /** Record loops of the other tasks (sources, stateless chains). */
  otherTasks: number;
  /** Heap snapshot packer threads. */
  packers: number;
  /** Checkpoint state-file writer threads (unaligned runs). */
  writers: number;
  /** The main thread (coordinator, metrics). */
  main: number;
  /** Everything else: libuv's pool (file writes, fsync), V8's GC and compiler threads. */
  other: number;
}

/** Sums each thread's CPU ms into its role's total (`mainTid`: the process id, the main thread). */
export function cpuByRole(cpu: Map<number, number>, roles: Map<number, ThreadRole>, mainTid: number): ThreadCpu {
  const out: ThreadCpu = { keyedTasks: 0, otherTasks: 0, packers: 0, writers: 0, main: 0, other: 0 };
  for (const [tid, ms] of cpu) {
    const r = roles.get(tid);
    if (tid === mainTid) out.main += ms;
    else if (r?.role === 'packer') out.packers += ms;
    else if (r?.role === 'writer') out.writers += ms;
    else if (r?.role === 'task') out[r.keyed ? 'keyedTasks' : 'otherTasks'] += ms;
    else out.other += ms;
  }
  return out;
}

/** One thread's counters from /proc: CPU and how often it gave up or lost its core. */
export interface ThreadCounters {
  cpuMs: number;
  /**
   * Voluntary context switches: times the thread blocked. A task thread blocks only when its
   * event loop has nothing to run (parked on its gate, waiting for ring space, awaiting I/O),
   * so this counts its sleeps and the wake-ups that ended them.
   */
  voluntary: number;
  /** Involuntary context switches: times the kernel took the core away (contention). */
  involuntary: number;
}

/** The two context-switch counts of a /proc/PID/task/TID/status text. */
export function parseContextSwitches(status: string): { voluntary: number; involuntary: number } {
  const v = /^voluntary_ctxt_switches:\s+(\d+)$/m.exec(status);
  const n = /^nonvoluntary_ctxt_switches:\s+(\d+)$/m.exec(status);
  return { voluntary: v ? Number(v[1]) : 0, involuntary: n ? Number(n[1]) : 0 };
}

/** CPU ms (utime + stime) of a /proc/PID/task/TID/stat text. */
export function parseStatCpuMs(stat: string): number {
  // Fields after the command name (which may hold spaces): utime is the 12th, stime the 13th.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / TICKS_PER_SECOND;
}

/** Every live thread's counters so far, by thread id (empty where /proc does not exist). */
export function threadCountersNow(): Map<number, ThreadCounters> {
  const out = new Map<number, ThreadCounters>();
  for (const tid of threadIds()) {
    try {
      const cpuMs = parseStatCpuMs(readFileSync(`/proc/self/task/${tid}/stat`, 'utf8'));
      out.set(Number(tid), { cpuMs, ...parseContextSwitches(readFileSync(`/proc/self/task/${tid}/status`, 'utf8')) });
    } catch {
      // the thread ended
    }
  }
  return out;
}

/** What each thread did between two readings (threads started since count from 0; ended ones are lost). */
export function countersBetween(before: Map<number, ThreadCounters>, after: Map<number, ThreadCounters>): Map<number, ThreadCounters> {
  const out = new Map<number, ThreadCounters>();
  for (const [tid, a] of after) {
    const b = before.get(tid);
    out.set(
      tid,
      b === undefined ? a : { cpuMs: a.cpuMs - b.cpuMs, voluntary: a.voluntary - b.voluntary, involuntary: a.involuntary - b.involuntary },
    );
  }
  return out;
}
