/**
 * CPU time per thread of this process (Linux /proc/self/task), sampled while a job runs: the
 * record loop's own cost shows as its thread's time, which wall time on a busy machine cannot
 * show and the process total mixes with every other thread's. A thread that ends between two
 * samples loses at most one interval of its time.
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { ThreadRole } from '../core/thread-roles.js';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

function sample(seen: Map<string, number>): void {
  let tids: string[];
  try {
    tids = readdirSync('/proc/self/task');
  } catch {
    return; // not Linux: nothing to report
  }
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      // Fields after the command name (which may hold spaces): utime is the 12th, stime the 13th.
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      seen.set(tid, ((Number(f[11]) + Number(f[12])) * 1000) / TICKS_PER_SECOND);
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
