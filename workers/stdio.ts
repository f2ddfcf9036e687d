/**
 * A worker thread's process.stdout and process.stderr are not the process's: each write is
 * posted to the main thread on the worker's own internal port, which the main thread copies to
 * its real stdout/stderr. That port is not ordered with the port that carries the task's
 * outcome, and piscina's idle threads are unref'd, so without a flush the main thread could
 * print the summary, or exit, while the last lines of a print sink or a console.log in a user
 * function were still on their way (issue 12: 7 of 20 runs lost lines).
 *
 * The flush is an empty write whose callback waits: Node calls a worker stdio write back when
 * a "wants more data" message from the main thread arrives (internal/worker/io.js), which the
 * main thread sends each time its side of the stream reads: after it has pushed a payload, and
 * once when it starts reading. A stream carries one payload at a time, and writes made while
 * one is out go together in the next. If the thread wrote before that first message reached
 * it, each message answers the payload before the one in flight, from then on: a callback then
 * only says the payload before its own was taken, and the empty write may share its payload
 * with the last lines. So the flush is done twice; the second empty write's payload comes
 * after the one with the last lines. (Reasoned from Node's source, not reproduced alone: once
 * in `npm test`, busy, one subtask's 100 print-sink lines came after the summary, in one run
 * of six in one pipe.)
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
  for (let round = 0; round < 2; round++) await Promise.all([flushOne(process.stdout), flushOne(process.stderr)]);
}
