/**
 * How long a thread has waited on a CPU run queue (runnable, not running), for the checkpoint
 * start-delay diagnostic (EDDY_CHECKPOINT_TRACE=1): read at the trigger by the main thread for
 * every thread of the process (task threads are not known before their first ack), and by each
 * task after its barrier is out; the difference is the time that task could have run but the
 * OS ran something else. Linux only (schedstat's second field, ns); elsewhere undefined. A file
 * read each (tens of µs): traced runs only, never per record.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { osThreadId } from '../thread-roles.js';

/** Cumulative run-queue wait of thread `tid` of this process (ns), or of the calling thread. */
export function runQueueNs(tid?: number): number | undefined {
  try {
    const text = readFileSync(tid === undefined ? '/proc/thread-self/schedstat' : `/proc/self/task/${tid}/schedstat`, 'latin1');
    const ns = Number(text.split(' ')[1]);
    return Number.isFinite(ns) ? ns : undefined;
  } catch {
    return undefined;
  }
}

/** Every thread of this process: its cumulative run-queue wait by thread id (empty where /proc is not there). */
export function runQueuesOfProcess(): Map<number, number> {
  const at = new Map<number, number>();
  let tids: string[];
  try {
    tids = readdirSync('/proc/self/task');
  } catch {
    return at;
  }
  for (const t of tids) {
    const ns = runQueueNs(Number(t));
    if (ns !== undefined) at.set(Number(t), ns);
  }
  return at;
}

/** A thread's CPU time and run-queue wait so far (ns), as schedstat counts them. */
export interface SchedTimes {
  cpuNs: number;
  runQueueNs: number;
}

/** The calling thread's CPU time and run-queue wait into `out`; false where /proc is not there. */
export function ownSchedTimes(out: SchedTimes): boolean {
  try {
    const fields = readFileSync('/proc/thread-self/schedstat', 'latin1').split(' ');
    out.cpuNs = Number(fields[0]);
    out.runQueueNs = Number(fields[1]);
    return Number.isFinite(out.cpuNs) && Number.isFinite(out.runQueueNs);
  } catch {
    return false;
  }
}

/**
 * Time the machine's virtual CPUs were kept from running by the host (steal), summed over CPUs,
 * ms; undefined where /proc/stat has no steal column. Counted in USER_HZ ticks (10 ms here), so
 * a difference is that coarse. Inside a VM a stolen vCPU looks like neither running nor
 * waiting: a thread asleep then wakes late without a run-queue wait.
 */
export function stealMs(): number | undefined {
  try {
    const text = readFileSync('/proc/stat', 'latin1');
    const cpu = text.slice(0, text.indexOf('\n')).split(/\s+/);
    const ticks = Number(cpu[8]);
    return Number.isFinite(ticks) ? ticks * USER_HZ_MS : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The calling thread's major page faults so far (a page read from disk: the thread sleeps on
 * I/O, neither running nor runnable); undefined where /proc is not there.
 */
export function ownMajorFaults(): number | undefined {
  try {
    const text = readFileSync('/proc/thread-self/stat', 'latin1');
    // Fields after the command name (which may hold spaces): state is the 3rd field, majflt the 12th.
    const n = Number(text.slice(text.lastIndexOf(')') + 2).split(' ')[MAJFLT_AFTER_COMM]);
    return Number.isFinite(n) ? n : undefined;
  } catch {
    return undefined;
  }
}

/** Index of majflt (field 12) among the fields after the command name (field 3 on). */
const MAJFLT_AFTER_COMM = 12 - 3;

/** One USER_HZ tick in ms (Linux reports /proc/stat in 1/100 s on every architecture). */
const USER_HZ_MS = 10;

let ownTid: number | undefined | null = null;

/** The calling thread's sample: its id with its run-queue wait so far. */
export function runQueueSample(): { tid: number; ns: number } | undefined {
  if (ownTid === null) ownTid = osThreadId();
  const tid = ownTid;
  const ns = tid === undefined ? undefined : runQueueNs();
  return tid === undefined || ns === undefined ? undefined : { tid, ns };
}
