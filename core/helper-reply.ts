/**
 * The helper thread's side of helper-thread.ts: how a reply goes back. Each is posted on the
 * reply port the owner handed over, then counted on the shared doorbell, so a busy owner sees
 * with one atomic load that a reply waits and takes it off the port without its event loop.
 *
 * Doorbell (Int32Array over a SharedArrayBuffer):
 *   [DOORBELL_REPLIES]  replies posted so far (only the helper writes it)
 */
import { workerData, type MessagePort } from 'node:worker_threads';

export const DOORBELL_REPLIES = 0;
export const DOORBELL_SLOTS = 1;

/** What a helper thread is started with. */
export interface HelperWorkerData {
  /** The OS thread id of the task thread it helps (thread-roles.ts). */
  owner: number | undefined;
  replies: MessagePort;
  doorbell: SharedArrayBuffer;
}

/** In a helper thread: sends replies to the owner (call once, at the thread's start). */
export function helperReplies(): (reply: unknown, transfer?: ArrayBuffer[]) => void {
  const data = workerData as HelperWorkerData;
  const port = data.replies;
  const doorbell = new Int32Array(data.doorbell);
  return (reply, transfer) => {
    port.postMessage(reply, transfer);
    // After the post: a count the owner sees is a reply already on its port.
    Atomics.add(doorbell, DOORBELL_REPLIES, 1);
  };
}
