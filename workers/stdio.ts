/**
 * A worker thread's process.stdout and process.stderr are not the process's: each write is
 * posted to the main thread on the worker's own internal port, which the main thread copies to
 * its real stdout/stderr. That port is not ordered with the port that carries the task's
 * outcome, and piscina's idle threads are unref'd, so without a flush the main thread could
 * print the summary, or exit, while the last lines of a print sink or a console.log in a user
 * function were still on their way (issue 12: 7 of 20 runs lost lines).
 *
 * The flush is an empty write whose callback waits: Node calls a worker stdio write back only
 * when the main thread asks for more data, which it does after it has pushed the chunks before
 * it into its side of the stream (piped synchronously to a file, pipe or TTY on Linux). A
 * stream carries one write at a time, so the callback of the last write comes after all
 * earlier chunks have been taken.
 */
import { isMainThread } from 'node:worker_threads';

/**
 * Bound on the wait: the main thread answers within one turn of its event loop, so this is
 * only reached if it is blocked (a reader that stopped reading its stdout) or Node changes the
 * protocol; a task then ends rather than hangs.
 */
const FLUSH_TIMEOUT_MS = 5_000;

function flushOne(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, FLUSH_TIMEOUT_MS);
    stream.write('', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Resolves once the main thread has taken everything this worker wrote to stdout and stderr. */
export async function flushStdio(): Promise<void> {
  if (isMainThread) return;
  await Promise.all([flushOne(process.stdout), flushOne(process.stderr)]);
}
