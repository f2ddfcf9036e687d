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
import { EddyError } from '../../failure.js';
import { helperThread } from '../../helper-thread.js';
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

const packer = helperThread<PackerReply>(new URL('./snapshot-packer-worker.js', import.meta.url), (why) => new EddyError('STATE_FAILED', `the snapshot packer thread ${why}`));

/** The buffers of a log chunk, to transfer it. */
export const chunkBuffers = (c: LogChunk): ArrayBuffer[] => [c.tables.buffer, c.groups.buffer, c.keys.buffer, c.values.buffer] as ArrayBuffer[];

/** One snapshot being packed: its groups in any order, then finish. */
export interface PackerJob {
  add(group: CapturedGroup): void;
  finish(keyGroups: { start: number; end: number }): Promise<KeyedSnapshot>;
}

/** A packing job on this thread's packer thread (started now if there is none or it died). */
export function openPackerJob(rangeStart: number, tables: [string, StateKind][], log: readonly LogChunk[] | undefined): PackerJob {
  const thread = packer.get();
  const { job, reply } = thread.open();
  // The log is copied (its chunks stay with the loop until their checkpoint is confirmed); the copies come back with the snapshot.
  const opening: PackerRequest = { type: 'open', job, rangeStart, tables, log: log?.map(copied) };
  thread.post(opening, opening.log?.flatMap(chunkBuffers), false);
  const done = reply.then((r) => {
    if (r.error !== undefined) throw new EddyError('STATE_FAILED', `the snapshot packer thread failed: ${r.error}`);
    giveFloats(r.spare);
    if (r.log !== undefined) giveChunks(r.log);
    return r.snapshot;
  });
  done.catch(() => {});
  return {
    add: (group) => thread.post({ type: 'group', job, group } satisfies PackerRequest, transferablesOf(group), false),
    // Held open only while someone awaits a reply (a job never finished holds nothing).
    finish: (keyGroups) => {
      thread.post({ type: 'finish', job, keyGroups } satisfies PackerRequest, undefined, true);
      return done;
    },
  };
}

/** Ends this thread's packer thread (its open snapshots fail); the next snapshot starts another. */
export function stopPackerThread(): Promise<void> {
  return packer.stop();
}
