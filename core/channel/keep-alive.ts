/**
 * A pending Atomics.waitAsync does not keep a thread's event loop alive: a thread whose only
 * work is waiting for a peer would simply exit. A ref'd timer for the length of the wait
 * keeps it running (the wait is the slow path; the timer costs microseconds).
 */
export async function keepAlive<T>(p: Promise<T>): Promise<T> {
  const timer = setTimeout(noop, 0x7fffffff);
  try {
    return await p;
  } finally {
    clearTimeout(timer);
  }
}

function noop(): void {}
