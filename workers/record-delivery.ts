/**
 * Record frames into the chain: decode a frame (freeing its ring space), then deliver it in
 * chunks of DELIVERY_CHUNK records, leaving it part-way when the loop says something should
 * not wait for the rest (see record-batch.ts for what a frame left part-way means to a
 * snapshot). Hot path: nothing here allocates per record.
 */
import { BatchDecoder } from '../core/channel/codec.js';
import { RECORDS_FLAG_TIMESTAMPS } from '../core/channel/layout.js';
import { NO_TIMESTAMP } from '../core/time/task-time.js';
import type { FrameSource } from './in-flight.js';
import { DELIVERY_CHUNK, RecordBatch } from './record-batch.js';
import type { StreamTask } from './task.js';

export class RecordDelivery {
  /** The record frame being delivered; one left part-way is finished before any other input. */
  readonly batch = new RecordBatch();
  private readonly decoder = new BatchDecoder();

  constructor(
    private readonly task: StreamTask,
    /** Asked between two chunks: true if the loop should take over before the next one. */
    private readonly pauseDue: () => boolean,
  ) {}

  /** A record frame of channel i: decoded, then delivered (see `deliver`). */
  deliverFrame(i: number, ch: FrameSource): void {
    const decoded = this.decoder.decode(ch.payload());
    ch.release();
    if ((ch.frameFlags & RECORDS_FLAG_TIMESTAMPS) === 0) this.batch.load(i, decoded, undefined);
    else this.batch.load(i, decoded[0] as unknown[], decoded[1] as number[]);
    this.deliver();
  }

  /** Delivers the current frame from where it was left, until it ends or a pause is due. */
  deliver(): void {
    const b = this.batch;
    const records = b.records;
    const n = records.length;
    let k = b.at;
    while (k < n) {
      const end = n - k > DELIVERY_CHUNK ? k + DELIVERY_CHUNK : n;
      this.deliverRange(b.channel, records, b.stamps, k, end);
      k = end;
      if (k < n && this.pauseDue()) break;
    }
    if (k === n) b.clear();
    else b.at = k;
  }

  /**
   * Records [from, to) of a frame of channel i through the chain. Three specialised loops, so
   * no record pays a branch for what its batch does not have (two inputs, event timestamps).
   */
  private deliverRange(i: number, records: unknown[], stamps: number[] | undefined, from: number, to: number): void {
    const task = this.task;
    const time = task.time;
    if (stamps === undefined) time.timestamp = NO_TIMESTAMP;
    const sides = task.inputSides;
    if (sides !== undefined) {
      const side = sides[i];
      const two = task.twoInputHead!;
      for (let k = from; k < to; k++) {
        if (stamps !== undefined) time.timestamp = stamps[k];
        two.collectSide(side, records[k]);
      }
    } else if (stamps === undefined) {
      const head = task.head;
      for (let k = from; k < to; k++) head.collect(records[k]);
    } else {
      const head = task.head;
      for (let k = from; k < to; k++) {
        time.timestamp = stamps[k];
        head.collect(records[k]);
      }
    }
  }
}
