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
 * in-flight input of that channel, stored ahead of everything else of it (`remainder`).
 */
import { BatchEncoder } from '../core/channel/codec.js';
import { FRAME_RECORDS, RECORDS_FLAG_TIMESTAMPS } from '../core/channel/layout.js';
import type { OwnedFrame } from '../core/channel/ring.js';

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
  private encoder: BatchEncoder | undefined;

  /** A frame is being delivered and has records left. */
  get active(): boolean {
    return this.at < this.records.length;
  }

  load(channel: number, records: unknown[], stamps: number[] | undefined): void {
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

  /** Makes the encoder `remainder` uses, and runs it once, ahead of the first snapshot that needs it. */
  prepareRemainder(): void {
    this.encoder ??= new BatchEncoder();
    this.encoder.encode(NONE);
  }

  /**
   * The records not yet delivered as one records frame, encoded as a producer would have sent
   * them (so a restore replays it like any frame); undefined when none are left. Only at a
   * snapshot, never per record.
   */
  remainder(): OwnedFrame | undefined {
    if (!this.active) return undefined;
    const rest = this.records.slice(this.at);
    const stamps = this.stamps;
    this.encoder ??= new BatchEncoder();
    const bytes = this.encoder.encode(stamps === undefined ? rest : [rest, stamps.slice(this.at)]);
    return { type: FRAME_RECORDS, flags: stamps === undefined ? 0 : RECORDS_FLAG_TIMESTAMPS, payload: bytes.slice() };
  }
}
