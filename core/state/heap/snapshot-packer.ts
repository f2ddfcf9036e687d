/**
 * Packs heap snapshots off the record loop: one packer thread per task thread, started on the
 * first snapshot big enough to be worth it. The loop only captures key groups (captured-group.ts:
 * typed arrays, transferred without a copy); the packer thread turns them into chunks and the
 * snapshot's bytes, which come back transferred. Where a core is free (parallelism 1 on two
 * cores) that work leaves the loop; where none is, it competes with the loops like any thread.
 *
 * The packer thread holds the process open only while a snapshot is in it. If it fails, the
 * snapshots in it fail (their checkpoints are declined) and the next snapshot starts a new one.
 */
import { Worker } from 'node:worker_threads';
import { EddyError } from '../../failure.js';
import { osThreadId } from '../../thread-roles.js';
import type { StateKind } from '../keyed-store.js';
import type { KeyedSnapshot } from '../snapshot-format.js';
import { giveFloats } from './float-pool.js';
import { transferablesOf, type CapturedGroup } from './captured-group.js';
import { copied, giveChunks, type LogChunk } from './write-log.js';

export type PackerRequest =
  | { type: 'open'; job: number; rangeStart: number; tables: [string, StateKind][]; log: LogChunk[] | undefined }
  | { type: 'group'; job: number; group: CapturedGroup }
  | { type: 'finish'; job: number; keyGroups: { start: number; end: number } };

export type PackerReply =
  | { job: number; snapshot: KeyedSnapshot; spare: ArrayBuffer[]; log: LogChunk[] | undefined; error?: undefined }
  | { job: number; error: string; snapshot?: undefined };

const WORKER = new URL('./snapshot-packer-worker.js', import.meta.url);

interface Pending {
  resolve: (s: KeyedSnapshot) => void;
  reject: (e: Error) => void;
}

class PackerThread {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextJob = 1;
  dead = false;

  constructor() {
    this.worker = new Worker(WORKER, { workerData: { owner: osThreadId() } });
    this.worker.unref();
    this.worker.on('message', (r: PackerReply) => {
      const p = this.pending.get(r.job);
      if (p === undefined) return;
      this.settled(r.job);
      if (r.error !== undefined) p.reject(new EddyError('STATE_FAILED', `the snapshot packer thread failed: ${r.error}`));
      else {
        giveFloats(r.spare);
        if (r.log !== undefined) giveChunks(r.log);
        p.resolve(r.snapshot);
      }
    });
    const fail = (why: string) => {
      this.dead = true;
      const err = new EddyError('STATE_FAILED', `the snapshot packer thread ${why}`);
      for (const [job, p] of this.pending) {
        this.settled(job);
        p.reject(err);
      }
    };
    this.worker.on('error', (e) => fail(`failed: ${e.message}`));
    this.worker.on('exit', (code) => fail(`exited (code ${code})`));
  }

  private settled(job: number): void {
    this.pending.delete(job);
    if (this.pending.size === 0) this.worker.unref();
  }

  stop(): Promise<number> {
    return this.worker.terminate();
  }

  open(rangeStart: number, tables: [string, StateKind][], log: readonly LogChunk[] | undefined): PackerJob {
    const job = this.nextJob++;
    // The log is copied (its chunks stay with the loop until their checkpoint is confirmed); the copies come back with the snapshot.
    const opening: PackerRequest = { type: 'open', job, rangeStart, tables, log: log?.map(copied) };
    this.worker.postMessage(opening, opening.log?.flatMap(chunkBuffers));
    let pending!: Pending;
    const done = new Promise<KeyedSnapshot>((resolve, reject) => (pending = { resolve, reject }));
    // The thread may die before finish hands this out; the rejection reaches whoever awaits it then.
    done.catch(() => {});
    this.pending.set(job, pending);
    return {
      add: (group) => {
        const m: PackerRequest = { type: 'group', job, group };
        this.worker.postMessage(m, transferablesOf(group));
      },
      finish: (keyGroups) => {
        const m: PackerRequest = { type: 'finish', job, keyGroups };
        // Held open only while someone awaits a reply (a job never finished holds nothing).
        this.worker.ref();
        this.worker.postMessage(m);
        return done;
      },
    };
  }
}

/** The buffers of a log chunk, to transfer it. */
export const chunkBuffers = (c: LogChunk): ArrayBuffer[] => [c.tables.buffer, c.groups.buffer, c.keys.buffer, c.values.buffer] as ArrayBuffer[];

/** One snapshot being packed: its groups in any order, then finish. */
export interface PackerJob {
  add(group: CapturedGroup): void;
  finish(keyGroups: { start: number; end: number }): Promise<KeyedSnapshot>;
}

let thread: PackerThread | undefined;

/** A packing job on this thread's packer thread (started now if there is none or it died). */
export function openPackerJob(rangeStart: number, tables: [string, StateKind][], log: readonly LogChunk[] | undefined): PackerJob {
  if (thread === undefined || thread.dead) thread = new PackerThread();
  return thread.open(rangeStart, tables, log);
}

/** Ends this thread's packer thread (its open snapshots fail); the next snapshot starts another. */
export async function stopPackerThread(): Promise<void> {
  const t = thread;
  thread = undefined;
  await t?.stop();
}
