/**
 * The in-flight data of one edge, stored by an unaligned checkpoint at one parallelism, dealt
 * to the consumer subtasks of another (after Flink's ChannelStateRescaler and
 * InflightDataRescalingDescriptor). Pure: the files are read and the replay is set up by the
 * worker (workers/in-flight-restore.ts); which edges may be redistributed at all is decided
 * on the main thread (core/runtime/in-flight-rescale.ts).
 *
 * What is stored on an edge is, per old channel (producer i → consumer j), one contiguous
 * piece of that channel's stream: the consumer's input state (what it had received but not
 * processed at its snapshot), then the producer's output state (what it had produced before
 * its barrier but not yet written to the ring). Both sides' snapshots already count these
 * records as sent and not processed, so each must be processed once, by the consumer subtask
 * that owns it now:
 *   - hash edges: the subtask owning the record's key group, the same rule the partitioner
 *     and the keyed state restore use, so the record meets its key's state;
 *   - rebalance edges: round robin over the new subtasks, record by record, in one order
 *     every subtask computes alike (channels by consumer then producer, frames, records).
 * The producer's output state goes straight to the consumer that owns its records, not back
 * to a new producer subtask: those records have passed the producer's operators already, and
 * a new producer could only re-partition them to the same owners.
 *
 * Records keep their order within each old channel (so per key, as a key travels one
 * channel) and their event timestamps. Watermark frames are dropped: a watermark of an old
 * producer means nothing on the new channels, and the new subtask's watermark valve starts
 * conservatively instead (see in-flight-restore.ts).
 */
import { BatchDecoder, BatchEncoder } from '../channel/codec.js';
import { FRAME_RECORDS, RECORDS_FLAG_TIMESTAMPS } from '../channel/layout.js';
import type { OwnedFrame } from '../channel/ring.js';
import { keyGroupFor, subtaskForKeyGroup } from '../state/key-groups.js';
import type { TaskChannelState } from './channel-state.js';

/** The stored piece of one old channel's stream. */
export interface StoredChannel {
  producer: number;
  consumer: number;
  frames: OwnedFrame[];
}

/** One old subtask's decoded in-flight data. */
export interface SubtaskChannelState {
  subtask: number;
  state: TaskChannelState;
}

/**
 * Every old channel of edge `edge` with stored data, in the order every new subtask deals
 * them (consumer, then producer): the consumer's input state, then the producer's output
 * state, which is their order in the stream.
 */
export function storedChannels(edge: number, consumers: SubtaskChannelState[], producers: SubtaskChannelState[]): StoredChannel[] {
  const byChannel = new Map<string, StoredChannel>();
  const channel = (producer: number, consumer: number): StoredChannel => {
    const k = `${consumer}/${producer}`;
    let c = byChannel.get(k);
    if (c === undefined) byChannel.set(k, (c = { producer, consumer, frames: [] }));
    return c;
  };
  for (const c of consumers) for (const e of c.state.inputs) if (e.edge === edge) channel(e.peer, c.subtask).frames.push(...e.frames);
  for (const p of producers) for (const e of p.state.outputs) if (e.edge === edge) channel(p.subtask, e.peer).frames.push(...e.frames);
  return [...byChannel.values()].filter((c) => c.frames.length > 0).sort((a, b) => a.consumer - b.consumer || a.producer - b.producer);
}

/** The new subtask a stored record goes to; called once per record, in the dealing order. */
export type RecordRoute = (record: unknown) => number;

/** Hash edges: the subtask owning the record's key group at the new parallelism. */
export function byKeyGroup(key: (record: unknown) => unknown, maxParallelism: number, parallelism: number): RecordRoute {
  return (r) => subtaskForKeyGroup(keyGroupFor(key(r), maxParallelism), maxParallelism, parallelism);
}

/** Rebalance edges: record n of the dealing order goes to subtask n mod parallelism (a fresh count per call). */
export function roundRobin(parallelism: number): RecordRoute {
  let n = 0;
  return () => {
    const s = n % parallelism;
    n++;
    return s;
  };
}

/**
 * The frames new subtask `subtask` replays: its records from every stored channel, in their
 * order, one frame per stored frame that had any (with the frame's timestamps when it had
 * them). `route` must see every record, so it is called for all of them, not only ours.
 */
export function redistribute(channels: StoredChannel[], route: RecordRoute, subtask: number): OwnedFrame[] {
  const decoder = new BatchDecoder();
  const encoder = new BatchEncoder();
  const out: OwnedFrame[] = [];
  const records: unknown[] = [];
  const stamps: number[] = [];
  for (const c of channels) {
    for (const f of c.frames) {
      if (f.type !== FRAME_RECORDS) continue;
      const decoded = decoder.decode(f.payload);
      const timed = (f.flags & RECORDS_FLAG_TIMESTAMPS) !== 0;
      const batch = timed ? (decoded[0] as unknown[]) : decoded;
      const ts = timed ? (decoded[1] as number[]) : undefined;
      records.length = 0;
      stamps.length = 0;
      for (let k = 0; k < batch.length; k++) {
        if (route(batch[k]) !== subtask) continue;
        records.push(batch[k]);
        if (ts !== undefined) stamps.push(ts[k]);
      }
      if (records.length === 0) continue;
      // The encoder reuses its buffer: each frame keeps a copy (not Buffer.slice, which is a view).
      out.push({ type: FRAME_RECORDS, flags: f.flags, payload: new Uint8Array(encoder.encode(timed ? [records, stamps] : records)) });
    }
  }
  return out;
}
