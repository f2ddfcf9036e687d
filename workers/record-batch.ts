/**
 * The record frame a task is delivering into its chain, and how far it got.
 *
 * A frame holds up to a batch of records (2048 by default); at a slow stage (5 µs a record)
 * that is 10 ms during which the task would see nothing else. So the loop delivers a frame in
 * chunks of DELIVERY_CHUNK records and, between chunks, may leave it (an unaligned barrier
 * waits in a mailbox, a snapshot write wants the event loop) and come back to it.
 *
 * If an unaligned snapshot is taken while a frame is left part-way, its records not yet
 * delivered came before the barrier on their channel and are not in the snapshot: they are
 * in-flight input of that channel, stored ahead of everything else of it (`remainder`): the
 * frame's bytes as the ring carried them and the index of its first undelivered record. Those
 * bytes are copied, with unaligned checkpoints only, into one buffer kept for the task's life
 * as each frame is loaded: a memcpy per frame, against re-encoding up to a batch of records
 * with msgpack at every snapshot that cuts a frame (~0.9 ms of the loop at a 5 µs/record stage).
 */
import { FRAME_RECORDS } from '../core/channel/layout.js';
import { freshBytes, type ByteAlloc } from '../core/channel/ring.js';
import type { StoredFrame } from '../core/checkpoint/channel-state.js';

/**
 * Records delivered between two looks at the mailbox. 64 bounds the reaction at a 5 µs/record
 * stage to about 0.3 ms, and one atomic load per 64 records is nothing against their cost. A
 * slower stage's chunks are cut by time (record-delivery.ts).
 */
export const DELIVERY_CHUNK = 64;

const NONE: unknown[] = [];

export class RecordBatch {
  /** The decoded records of the frame (NONE when no frame is being delivered). */
  records: unknown[] = NONE;
  /** Their event timestamps, index by index, when the frame carries them. */
  stamps: number[] | undefined = undefined;
  /** The next record to deliver. */
  at = 0;
  /** The input channel the frame came from. */
  channel = -1;
  /** The frame's bytes are kept (unaligned checkpoints): `bytes[0, length)` with `flags`. */
  private keeps = false;
  private bytes = new Uint8Array(0);
  private length = 0;
  private flags = 0;

  /** A frame is being delivered and has records left. */
  get active(): boolean {
    return this.at < this.records.length;
  }

  /** A frame to deliver: its decoded records (and stamps), and its payload and flags as the ring carried them. */
  load(channel: number, records: unknown[], stamps: number[] | undefined, flags: number, payload: Uint8Array): void {
    if (this.keeps) {
      // Grown to the largest frame seen, then reused: no allocation per frame.
      if (this.bytes.length < payload.length) this.bytes = new Uint8Array(payload.length);
      this.bytes.set(payload);
      this.length = payload.length;
      this.flags = flags;
    }
    this.channel = channel;
    this.records = records;
    this.stamps = stamps;
    this.at = 0;
  }

  clear(): void {
    this.records = NONE;
    this.stamps = undefined;
    this.at = 0;
    this.channel = -1;
  }

  /** From now on each frame's bytes are kept for `remainder` (at deployment, with unaligned checkpoints). */
  prepareRemainder(): void {
    this.keeps = true;
  }

  /**
   * The records not yet delivered: the frame as it came and the index of the first of them
   * (a restore skips the ones before, channel-state.ts); undefined when none are left. Only
   * at a snapshot, never per record.
   */
  remainder(alloc: ByteAlloc = freshBytes): StoredFrame | undefined {
    if (!this.active) return undefined;
    if (!this.keeps) throw new Error("RecordBatch.remainder without prepareRemainder: the frame's bytes were not kept");
    const payload = alloc(this.length);
    payload.set(this.bytes.subarray(0, this.length));
    return { type: FRAME_RECORDS, flags: this.flags, payload, skip: this.at };
  }
}
