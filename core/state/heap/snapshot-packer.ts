/**
 * Packs heap snapshots off the record loop: one packer thread per task thread, started on the
 * first snapshot big enough to be worth it. The loop only captures key groups (captured-group.ts:
 * typed arrays over shared memory, float-pool.ts) of Map tables, and hands over numeric tables'
 * buffers as they are (numeric-scan.ts: read here while the loop writes on); the packer thread
 * reads them and the write log's chunks where they are, turns them into chunks and the snapshot's bytes, which come back
 * transferred with their CRC-32 (so the loop need not checksum them before writing). Where a core is free (parallelism 1 on two
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
import { floatsOf, transferablesOf, type CapturedGroup } from './captured-group.js';
import type { NumericScan } from './numeric-scan.js';
import { holdChunks, letGoChunks, type LogChunk } from './write-log.js';
import { giveOutput, takeOutput } from './output-pool.js';

export type PackerRequest =
  | { type: 'open'; job: number; rangeStart: number; tables: [string, StateKind][]; log: LogChunk[] | undefined }
  | { type: 'group'; job: number; group: CapturedGroup }
  | { type: 'scan'; job: number; scan: NumericScan }
  | { type: 'finish'; job: number; keyGroups: { start: number; end: number }; output: SharedArrayBuffer | undefined };

/** A packed snapshot without its bytes, which are in the output buffer (or `grown`, when that was too small). */
export type PackerReply =
  | {
      job: number;
      packed: Omit<KeyedSnapshot, 'data'> & { bytes: number; crc32: number };
      grown: SharedArrayBuffer | undefined;
      error?: undefined;
    }
  | { job: number; error: string; packed?: undefined };

const packer = helperThread<PackerReply>(
  new URL('./snapshot-packer-worker.js', import.meta.url),
  (why) => new EddyError('STATE_FAILED', `the snapshot packer thread ${why}`),
);

/** One snapshot being packed: its groups in any order, then finish. */
export interface PackerJob {
  add(group: CapturedGroup): void;
  /** Numeric tables to read from shared memory while the loop writes on (numeric-scan.ts). */
  scan(scan: NumericScan): void;
  finish(keyGroups: { start: number; end: number }): Promise<KeyedSnapshot>;
}

/** A packing job on this thread's packer thread (started now if there is none or it died). */
export function openPackerJob(rangeStart: number, tables: [string, StateKind][], log: readonly LogChunk[] | undefined): PackerJob {
  const thread = packer.get();
  const { job, reply } = thread.open();
  // Shared memory the packer reads until it replies (or dies): the log's chunks and the captures' arrays.
  const chunks = log ?? [];
  holdChunks(chunks);
  const floats: Float64Array[] = [];
  let output: SharedArrayBuffer | undefined;
  const opening: PackerRequest = { type: 'open', job, rangeStart, tables, log: log === undefined ? undefined : [...log] };
  thread.post(opening, undefined, false);
  const done = reply
    .finally(() => {
      letGoChunks(chunks);
      giveFloats(floats);
    })
    .then((r): KeyedSnapshot => {
      if (r.error !== undefined) throw new EddyError('STATE_FAILED', `the snapshot packer thread failed: ${r.error}`);
      const { bytes, ...packed } = r.packed;
      const buffer = r.grown ?? output!;
      const release = () => giveOutput(buffer);
      return { ...packed, data: new Uint8Array(buffer, 0, bytes), release };
    });
  done.catch(() => {});
  return {
    add: (group) => {
      floats.push(...floatsOf(group));
      thread.post({ type: 'group', job, group } satisfies PackerRequest, transferablesOf(group), false);
    },
    scan: (scan) => thread.post({ type: 'scan', job, scan } satisfies PackerRequest, undefined, false),
    // Held open only while someone awaits a reply (a job never finished holds nothing).
    finish: (keyGroups) => {
      output = takeOutput();
      thread.post({ type: 'finish', job, keyGroups, output } satisfies PackerRequest, undefined, true);
      return done;
    },
  };
}

/** Ends this thread's packer thread (its open snapshots fail); the next snapshot starts another. */
export function stopPackerThread(): Promise<void> {
  return packer.stop();
}
