/**
 * Record frames into the chain: decode a frame (then free its ring space), then deliver it in
 * chunks of at most DELIVERY_CHUNK records and about CHUNK_BUDGET_MS, leaving it part-way when
 * the loop says something should not wait for the rest (see record-batch.ts for what a frame
 * left part-way means to a snapshot). Hot path: nothing here allocates per record.
 */
import { BatchDecoder } from '../core/channel/codec.js';
import { RECORDS_FLAG_TIMESTAMPS } from '../core/channel/layout.js';
import { NO_TIMESTAMP } from '../core/time/task-time.js';
import type { FrameSource } from './in-flight.js';
import { DELIVERY_CHUNK, RecordBatch } from './record-batch.js';
import type { StreamTask } from './task.js';

/**
 * About how long one chunk runs (ms) before the loop looks around again. 64 records are 0.3 ms
 * at 5 µs a record but 26 ms at 400 µs, and a snapshot whose keyed capture goes on in slices
 * (one per turn of the event loop, which the loop gives only between chunks) then took about a
 * second: 32 slices, a chunk each. So a slow stage's chunks are cut by time instead.
 */
const CHUNK_BUDGET_MS = 0.5;

export class RecordDelivery {
  /** The record frame being delivered; one left part-way is finished before any other input. */
  readonly batch = new RecordBatch();
  private readonly decoder = new BatchDecoder();
  /**
   * Records in the next chunk: DELIVERY_CHUNK, fewer at a stage where that many would overrun
   * CHUNK_BUDGET_MS. The first is one record: a whole chunk unmeasured would be 26 ms blind at 400 µs a record.
   */
  private chunk = 1;

  constructor(
    private readonly task: StreamTask,
    /** Asked between two chunks: true if the loop should take over before the next one. */
    private readonly pauseDue: () => boolean,
  ) {}

  /** A record frame of channel i: decoded, then delivered (see `deliver`). */
  deliverFrame(i: number, ch: FrameSource): void {
    const payload = ch.payload();
    const decoded = this.decoder.decode(payload);
    const flags = ch.frameFlags;
    if ((flags & RECORDS_FLAG_TIMESTAMPS) === 0) this.batch.load(i, decoded, undefined, flags, payload);
    else this.batch.load(i, decoded[0] as unknown[], decoded[1] as number[], flags, payload);
    ch.release();
    this.deliver();
  }

  /** Delivers the current frame from where it was left, until it ends or a pause is due. */
  deliver(): void {
    const b = this.batch;
    const records = b.records;
    const n = records.length;
    let k = b.at;
    while (k < n) {
      const end = n - k > this.chunk ? k + this.chunk : n;
      const started = performance.now();
      this.deliverRange(b.channel, records, b.stamps, k, end);
      this.fitChunk(end - k, performance.now() - started);
      k = end;
      if (k < n && this.pauseDue()) break;
    }
    if (k === n) b.clear();
    else b.at = k;
  }

  /** Sizes the next chunk by this one's time per record (two clock reads per chunk, none per record). */
  private fitChunk(records: number, ms: number): void {
    const fit = ms > 0 ? Math.floor((CHUNK_BUDGET_MS * records) / ms) : DELIVERY_CHUNK;
    this.chunk = fit >= DELIVERY_CHUNK ? DELIVERY_CHUNK : fit < 1 ? 1 : fit;
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
