/**
 * Which OS thread of this process does what (a task's record loop, a snapshot packer), so that
 * CPU time read per thread from /proc (bench/thread-cpu.ts) can be told apart: Node names every
 * thread "node". Each engine thread announces its own thread id and role on a BroadcastChannel
 * that a profiler in the same process may listen to; with no listener the message is dropped.
 * Linux only (the id is read from /proc/thread-self); elsewhere nothing is announced.
 */
import { readlinkSync } from 'node:fs';
import { BroadcastChannel } from 'node:worker_threads';

const CHANNEL = 'eddy.thread-roles';

export interface ThreadRole {
  /** The OS thread id (/proc/self/task/<tid>). */
  tid: number;
  /** 'task': a task's record loop; 'packer': a heap snapshot packer thread; 'writer': a checkpoint state-file writer thread. */
  role: 'task' | 'packer' | 'writer';
  /** The task's vertex and subtask ('sum#0'); for a packer or writer, its task's thread id. */
  name: string;
  /** A task holding keyed state. */
  keyed?: boolean;
}

/** This thread's OS id, or undefined where /proc/thread-self does not exist. */
export function osThreadId(): number | undefined {
  try {
    return Number(readlinkSync('/proc/thread-self').split('/').pop());
  } catch {
    return undefined;
  }
}

/** Tells a listener in this process what the calling thread does. */
export function announceThread(role: Omit<ThreadRole, 'tid'>): void {
  const tid = osThreadId();
  if (tid === undefined) return;
  const channel = new BroadcastChannel(CHANNEL);
  channel.postMessage({ ...role, tid });
  channel.close();
}

/** Collects the roles announced from now on, by thread id, until stopped. */
export function listenThreadRoles(): { roles: Map<number, ThreadRole>; stop(): void } {
  const roles = new Map<number, ThreadRole>();
  const channel = new BroadcastChannel(CHANNEL);
  channel.onmessage = (e) => {
    const r = (e as unknown as { data: ThreadRole }).data;
    roles.set(r.tid, r);
  };
  channel.unref();
  return { roles, stop: () => channel.close() };
}
