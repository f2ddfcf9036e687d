/**
 * CPU time per thread of this process (Linux /proc/self/task), sampled while a job runs: the
 * record loop's own cost shows as its thread's time, which wall time on a busy machine cannot
 * show and the process total mixes with every other thread's. A thread that ends between two
 * samples loses at most one interval of its time.
 */
import { readdirSync, readFileSync } from 'node:fs';

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

/** Starts sampling; the returned function stops and gives each thread's CPU ms, largest first. */
export function sampleThreadCpu(intervalMs = 100): () => number[] {
  const seen = new Map<string, number>();
  const timer = setInterval(() => sample(seen), intervalMs);
  return () => {
    clearInterval(timer);
    sample(seen);
    return [...seen.values()].sort((a, b) => b - a);
  };
}
