/**
 * A helper thread of a task thread (the heap snapshot packer, the state-file writer): jobs go
 * in as messages, each answered by one reply carrying its job number. The thread holds the
 * process open only while someone awaits a reply; if it dies, every job in it fails and the
 * next user starts another (`helperThread`).
 *
 * Replies come back on a port of their own and each is counted on a shared doorbell
 * (helper-reply.ts), so a busy task takes them between two frames (`pollHelperReplies`: one
 * atomic load when none is waiting) instead of when its event loop comes round. The port's
 * listener takes whatever the loop reaches first, when the task is idle or waiting on output.
 */
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort, type TransferListItem } from 'node:worker_threads';
import { osThreadId } from './thread-roles.js';
import { DOORBELL_REPLIES, DOORBELL_SLOTS, type HelperWorkerData } from './helper-reply.js';

interface Pending<R> {
  resolve: (reply: R) => void;
  reject: (e: Error) => void;
}

/** The live helpers of this thread, polled together by pollHelperReplies (an array: no iterator per poll). */
const live: { poll(): boolean }[] = [];

function forget(h: { poll(): boolean }): void {
  const i = live.indexOf(h);
  if (i >= 0) live.splice(i, 1);
}

export class HelperThread<Reply extends { job: number }> {
  private readonly worker: Worker;
  private readonly replies: MessagePort;
  /** Replies posted by the thread (DOORBELL_REPLIES), against those taken here (`taken`). */
  private readonly doorbell = new Int32Array(new SharedArrayBuffer(DOORBELL_SLOTS * Int32Array.BYTES_PER_ELEMENT));
  private taken = 0;
  private readonly pending = new Map<number, Pending<Reply>>();
  private nextJob = 1;
  dead = false;

  /** `failure` makes the error every waiting job fails with when the thread dies. */
  constructor(url: URL, failure: (why: string) => Error) {
    const { port1, port2 } = new MessageChannel();
    this.replies = port1;
    // The owner lets the thread announce whose helper it is (thread-roles.ts).
    const workerData: HelperWorkerData = { owner: osThreadId(), replies: port2, doorbell: this.doorbell.buffer as SharedArrayBuffer };
    this.worker = new Worker(url, { workerData, transferList: [port2] });
    this.worker.unref();
    // The worker's ref decides whether the process stays open, not the port's.
    this.replies.on('message', (r: Reply) => this.settle(r));
    this.replies.unref();
    const fail = (why: string) => {
      this.dead = true;
      forget(this);
      // Replies posted before it died still count (the port and the exit event are not ordered).
      for (let m = receiveMessageOnPort(this.replies); m !== undefined; m = receiveMessageOnPort(this.replies))
        this.settle(m.message as Reply);
      this.replies.close();
      const err = failure(why);
      for (const [job, p] of this.pending) {
        this.settled(job);
        p.reject(err);
      }
    };
    this.worker.on('error', (e) => fail(`failed: ${e.message}`));
    this.worker.on('exit', (code) => fail(`exited (code ${code})`));
    live.push(this);
  }

  /** Jobs posted and not yet answered. */
  get jobs(): number {
    return this.pending.size;
  }

  /** A new job: its number, and its reply (rejected if the thread dies first). */
  open(): { job: number; reply: Promise<Reply> } {
    const job = this.nextJob++;
    const reply = new Promise<Reply>((resolve, reject) => this.pending.set(job, { resolve, reject }));
    // The thread may die before anyone awaits the reply; the rejection reaches whoever does.
    reply.catch(() => {});
    return { job, reply };
  }

  /** Sends a message; `awaited`: a reply is now awaited, so the thread holds the process open. */
  post(message: unknown, transfer: TransferListItem[] | undefined, awaited: boolean): void {
    if (awaited) this.worker.ref();
    this.worker.postMessage(message, transfer);
  }

  /** Takes the replies the doorbell counts and this side has not taken yet; true if it took any. */
  poll(): boolean {
    // The count is bumped after the reply is posted, so every counted reply is on the port.
    const posted = Atomics.load(this.doorbell, DOORBELL_REPLIES);
    if (posted === this.taken) return false;
    while (this.taken !== posted) {
      const m = receiveMessageOnPort(this.replies);
      if (m === undefined) break;
      this.settle(m.message as Reply);
    }
    return true;
  }

  stop(): Promise<number> {
    forget(this);
    this.replies.close();
    return this.worker.terminate();
  }

  private settle(r: Reply): void {
    this.taken++;
    const p = this.pending.get(r.job);
    if (p === undefined) return;
    this.settled(r.job);
    p.resolve(r);
  }

  private settled(job: number): void {
    this.pending.delete(job);
    if (this.pending.size === 0) this.worker.unref();
  }
}

/**
 * Takes every reply this thread's helpers have posted and resolves the jobs waiting for them
 * (their continuations run at the caller's next await); true if there was any.
 */
export function pollHelperReplies(): boolean {
  let any = false;
  for (let i = 0; i < live.length; i++) if (live[i].poll()) any = true;
  return any;
}

/** This thread's one helper of a kind, started on first use and again after it died; `stop` ends it. */
export function helperThread<R extends { job: number }>(
  url: URL,
  failure: (why: string) => Error,
): { get(): HelperThread<R>; stop(): Promise<void> } {
  let thread: HelperThread<R> | undefined;
  return {
    get() {
      if (thread === undefined || thread.dead) thread = new HelperThread<R>(url, failure);
      return thread;
    },
    async stop() {
      const t = thread;
      thread = undefined;
      await t?.stop();
    },
  };
}
