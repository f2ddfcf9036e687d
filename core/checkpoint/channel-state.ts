/**
 * The in-flight data of one task in an unaligned checkpoint ("channel state", after Flink's
 * ChannelStateWriter): the data frames its barrier overtook. One msgpackr message per task,
 * written only when there is such data:
 *
 *   [ 1,                                               format version
 *     [[channel, edge, producerSubtask, frames], …],   input state: frames this task had
 *                                                      received but not processed at its snapshot
 *     [[channel, edge, consumerSubtask, frames], …],   output state: frames it had produced
 *                                                      but not yet written to the ring
 *     [wm[], idle[], ended[], last] | null ]           the input watermark valve at the snapshot
 *   frames = [[type, flags, payload], …]               records / watermark frames, exactly as
 *                                                      the ring carried them (no re-encoding)
 *
 * `channel` is the index among the task's input channels (or output channels); with the edge
 * and the peer subtask it must match the restoring deployment, which is checked on restore.
 */
import { Packr, Unpackr } from 'msgpackr';
import type { OwnedFrame } from '../channel/ring.js';
import { EddyError } from '../failure.js';
import type { ValveState } from '../time/watermark-valve.js';

export const CHANNEL_STATE_VERSION = 1;

/** One channel's in-flight frames. */
export interface ChannelFrames {
  /** Index among the task's input (or output) channels. */
  channel: number;
  edge: number;
  /** The subtask at the other end: the producer of an input, the consumer of an output. */
  peer: number;
  frames: OwnedFrame[];
}

export interface TaskChannelState {
  inputs: ChannelFrames[];
  outputs: ChannelFrames[];
  /** The task's watermark valve at its snapshot (tasks with inputs). */
  valve?: ValveState;
}

type Entry = [channel: number, edge: number, peer: number, frames: [number, number, Uint8Array][]];

const packr = new Packr({ useRecords: false });
const unpackr = new Unpackr({ useRecords: false });

const toEntry = (c: ChannelFrames): Entry => [c.channel, c.edge, c.peer, c.frames.map((f) => [f.type, f.flags, f.payload])];

/** Payload bytes in the state (what `inFlightBytes` reports). */
export function channelStateBytes(s: TaskChannelState): number {
  let n = 0;
  for (const list of [s.inputs, s.outputs]) for (const c of list) for (const f of c.frames) n += f.payload.length;
  return n;
}

export function encodeChannelState(s: TaskChannelState): Uint8Array {
  const nonEmpty = (l: ChannelFrames[]) => l.filter((c) => c.frames.length > 0).map(toEntry);
  const v = s.valve;
  return new Uint8Array(packr.pack([CHANNEL_STATE_VERSION, nonEmpty(s.inputs), nonEmpty(s.outputs), v ? [v.wm, v.idle, v.ended, v.last] : null]));
}

export function decodeChannelState(bytes: Uint8Array, where: string): TaskChannelState {
  const corrupt = (why: string) => new EddyError('CHECKPOINT_CORRUPT', `in-flight data ${where} is corrupt: ${why}`);
  let msg: unknown;
  try {
    msg = unpackr.unpack(bytes);
  } catch (err) {
    throw corrupt(`it does not decode (${(err as Error).message})`);
  }
  if (!Array.isArray(msg) || msg.length !== 4) throw corrupt('not a channel-state message');
  if (msg[0] !== CHANNEL_STATE_VERSION) throw corrupt(`format version ${JSON.stringify(msg[0])}, this eddy reads ${CHANNEL_STATE_VERSION}`);
  const list = (v: unknown): ChannelFrames[] => {
    if (!Array.isArray(v)) throw corrupt('channel list is not an array');
    return v.map((e: unknown) => {
      if (!Array.isArray(e) || e.length !== 4 || !Array.isArray(e[3])) throw corrupt('bad channel entry');
      const frames = (e[3] as unknown[]).map((f) => {
        if (!Array.isArray(f) || typeof f[0] !== 'number' || typeof f[1] !== 'number' || !(f[2] instanceof Uint8Array)) throw corrupt('bad frame');
        return { type: f[0], flags: f[1], payload: f[2] };
      });
      return { channel: Number(e[0]), edge: Number(e[1]), peer: Number(e[2]), frames };
    });
  };
  const v = msg[3] as unknown;
  if (v === null) return { inputs: list(msg[1]), outputs: list(msg[2]) };
  if (!Array.isArray(v) || v.length !== 4 || !Array.isArray(v[0]) || !Array.isArray(v[1]) || !Array.isArray(v[2]) || typeof v[3] !== 'number') throw corrupt('bad watermark valve');
  const valve: ValveState = { wm: v[0] as number[], idle: v[1] as number[], ended: v[2] as number[], last: v[3] };
  return { inputs: list(msg[1]), outputs: list(msg[2]), valve };
}
