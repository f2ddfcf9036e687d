/**
 * A helper thread of a task thread (the heap snapshot packer, the state-file writer): jobs go
 * in as messages, each answered by one reply carrying its job number. The thread holds the
 * process open only while someone awaits a reply; if it dies, every job in it fails and the
 * next user starts another (`helperThread`).
 */
import { Worker } from 'node:worker_threads';
import { osThreadId } from './thread-roles.js';

interface Pending<R> {
  resolve: (reply: R) => void;
  reject: (e: Error) => void;
}

export class HelperThread<Reply extends { job: number }> {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending<Reply>>();
  private nextJob = 1;
  dead = false;

  /** `failure` makes the error every waiting job fails with when the thread dies. */
  constructor(url: URL, failure: (why: string) => Error) {
    // The owner lets the thread announce whose helper it is (thread-roles.ts).
    this.worker = new Worker(url, { workerData: { owner: osThreadId() } });
    this.worker.unref();
    this.worker.on('message', (r: Reply) => {
      const p = this.pending.get(r.job);
      if (p === undefined) return;
      this.settled(r.job);
      p.resolve(r);
    });
    const fail = (why: string) => {
      this.dead = true;
      const err = failure(why);
      for (const [job, p] of this.pending) {
        this.settled(job);
        p.reject(err);
      }
    };
    this.worker.on('error', (e) => fail(`failed: ${e.message}`));
    this.worker.on('exit', (code) => fail(`exited (code ${code})`));
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
  post(message: unknown, transfer: ArrayBuffer[] | undefined, awaited: boolean): void {
    if (awaited) this.worker.ref();
    this.worker.postMessage(message, transfer);
  }

  stop(): Promise<number> {
    return this.worker.terminate();
  }

  private settled(job: number): void {
    this.pending.delete(job);
    if (this.pending.size === 0) this.worker.unref();
  }
}

/** This thread's one helper of a kind, started on first use and again after it died; `stop` ends it. */
export function helperThread<R extends { job: number }>(url: URL, failure: (why: string) => Error): { get(): HelperThread<R>; stop(): Promise<void> } {
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
