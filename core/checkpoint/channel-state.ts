/**
 * The in-flight data of one task in an unaligned checkpoint ("channel state", after Flink's
 * ChannelStateWriter): the data frames its barrier overtook. One msgpackr message per task,
 * written only when there is such data:
 *
 *   [ 2,                                               format version (1 is read too)
 *     [[channel, edge, producerSubtask, frames], …],   input state: frames this task had
 *                                                      received but not processed at its snapshot
 *     [[channel, edge, consumerSubtask, frames], …],   output state: frames it had produced
 *                                                      but not yet written to the ring
 *     [wm[], idle[], ended[], last] | null ]           the input watermark valve at the snapshot
 *   frames = [[type, flags, payload], …]               records / watermark frames, exactly as
 *                                                      the ring carried them (no re-encoding)
 *   or a frame [type, flags, payload, skip]            (version 2) a records frame of which the
 *                                                      first `skip` records (0 < skip < its count)
 *                                                      are not in-flight data: the frame a task was
 *                                                      part-way through delivering at its snapshot
 *                                                      (workers/record-batch.ts), stored as it came
 *                                                      instead of re-encoding its rest on the loop
 *
 * A restore turns a frame with `skip` into a records frame of its remaining records (encoded
 * then, once), so everything after decoding sees plain frames. Version 1 has no `skip`.
 *
 * `channel` is the index among the task's input channels (or output channels); with the edge
 * and the peer subtask it must match the restoring deployment, which is checked on restore.
 */
import { Packr, Unpackr } from 'msgpackr';
import { BatchDecoder, BatchEncoder } from '../channel/codec.js';
import { FRAME_RECORDS, RECORDS_FLAG_TIMESTAMPS } from '../channel/layout.js';
import type { OwnedFrame } from '../channel/ring.js';
import { EddyError } from '../failure.js';
import { arrayHeaderSize, writeArrayHeader } from '../msgpack-write.js';
import { ownsWholeBuffer } from './owned-bytes.js';
import type { ValveState } from '../time/watermark-valve.js';

export const CHANNEL_STATE_VERSION = 2;
/** The oldest version this eddy still restores. */
const OLDEST_VERSION = 1;

/** A stored frame: with `skip` (records frames only), its first `skip` records are not part of it. */
export interface StoredFrame extends OwnedFrame {
  skip?: number;
}

/** One channel's in-flight frames. */
export interface ChannelFrames {
  /** Index among the task's input (or output) channels. */
  channel: number;
  edge: number;
  /** The subtask at the other end: the producer of an input, the consumer of an output. */
  peer: number;
  /** Encoded as they are; decoded, none has a `skip`. */
  frames: StoredFrame[];
}

export interface TaskChannelState {
  inputs: ChannelFrames[];
  outputs: ChannelFrames[];
  /** The task's watermark valve at its snapshot (tasks with inputs). */
  valve?: ValveState;
}

const packr = new Packr({ useRecords: false });
const unpackr = new Unpackr({ useRecords: false });

/** Payload bytes in the state (what `inFlightBytes` reports). */
export function channelStateBytes(s: TaskChannelState): number {
  let n = 0;
  for (const list of [s.inputs, s.outputs]) for (const c of list) for (const f of c.frames) n += f.payload.length;
  return n;
}

/**
 * The state as one msgpack message in parts, to be written one after the other (with one
 * writev). An input payload that is a whole buffer of its own or shared memory (the capture's
 * copy of ring bytes, in fresh memory or in the task's in-flight arena) is a part as it is,
 * not copied again: at 1 MiB rings that copy was ~1 ms of the task's loop per checkpoint.
 * Everything else (the structure, output payloads the task still has to send, anything
 * sharing a buffer) is written into one buffer of exactly its size, cut around those payloads.
 * Every part's buffer is then the caller's alone (or shared, read in place), so all of them
 * can go to the writer thread without a copy; the input payloads must not be read after that.
 * Only the valve, a few numbers, goes through msgpackr.
 */
export function encodeChannelStateParts(s: TaskChannelState): Uint8Array[] {
  const inputs = s.inputs.filter((c) => c.frames.length > 0);
  const outputs = s.outputs.filter((c) => c.frames.length > 0);
  const v = s.valve;
  const valve = packr.pack(v ? [v.wm, v.idle, v.ended, v.last] : null);
  let size = 1 + uintSize(CHANNEL_STATE_VERSION) + arrayHeaderSize(inputs.length) + arrayHeaderSize(outputs.length) + valve.length;
  for (const list of [inputs, outputs]) {
    for (const c of list) {
      size += 1 + uintSize(c.channel) + uintSize(c.edge) + uintSize(c.peer) + arrayHeaderSize(c.frames.length);
      for (const f of c.frames)
        size +=
          1 +
          (f.skip ? uintSize(f.skip) : 0) +
          uintSize(f.type) +
          uintSize(f.flags) +
          binSize(f.payload.length) +
          (list === inputs && byReference(f.payload) ? 0 : f.payload.length);
    }
  }
  const w = new MsgpackWriter(size);
  w.array(4);
  w.uint(CHANNEL_STATE_VERSION);
  for (const list of [inputs, outputs]) {
    w.array(list.length);
    for (const c of list) {
      w.array(4);
      w.uint(c.channel);
      w.uint(c.edge);
      w.uint(c.peer);
      w.array(c.frames.length);
      for (const f of c.frames) {
        w.array(f.skip ? 4 : 3);
        w.uint(f.type);
        w.uint(f.flags);
        w.bin(f.payload, list === inputs && byReference(f.payload));
        if (f.skip) w.uint(f.skip);
      }
    }
  }
  w.raw(valve);
  if (w.at !== size) throw new Error(`channel state encoded to ${w.at} bytes, ${size} expected`);
  return w.finish();
}

/** The state as one buffer of exactly the message's size (the parts joined). */
export function encodeChannelState(s: TaskChannelState): Uint8Array {
  const parts = encodeChannelStateParts(s);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/**
 * An input payload that is a part of its own: a whole buffer of its own (it moves to the
 * writer thread), or a piece of shared memory (a task's in-flight arena, read in place).
 */
const byReference = (p: Uint8Array) => p.byteLength > 0 && (ownsWholeBuffer(p) || p.buffer instanceof SharedArrayBuffer);

const uintSize = (n: number) => (n < 0x80 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : 5);
const binSize = (n: number) => (n < 0x100 ? 2 : n < 0x10000 ? 3 : 5);

/** Writes the few msgpack forms the channel state uses (non-negative integers up to 2^32, arrays, bin). */
class MsgpackWriter {
  readonly bytes: Uint8Array;
  private readonly view: DataView;
  at = 0;
  /** The message so far, cut around payloads written by reference; `bytes` from `cut` on is not in it yet. */
  private readonly parts: Uint8Array[] = [];
  private cut = 0;

  constructor(size: number) {
    this.bytes = new Uint8Array(size);
    this.view = new DataView(this.bytes.buffer);
  }

  uint(n: number): void {
    if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new Error(`channel state field ${n} is not an unsigned 32-bit integer`);
    if (n < 0x80) this.bytes[this.at++] = n;
    else if (n < 0x100) this.head(0xcc, 1, n);
    else if (n < 0x10000) this.head(0xcd, 2, n);
    else this.head(0xce, 4, n);
  }

  array(n: number): void {
    this.at = writeArrayHeader(this.bytes, this.view, this.at, n);
  }

  /** A bin: its payload copied in, or (`byReference`) a part of its own after the bytes so far. */
  bin(payload: Uint8Array, byReference: boolean): void {
    const n = payload.length;
    if (n < 0x100) this.head(0xc4, 1, n);
    else if (n < 0x10000) this.head(0xc5, 2, n);
    else this.head(0xc6, 4, n);
    if (!byReference) return this.raw(payload);
    this.parts.push(this.bytes.subarray(this.cut, this.at), payload);
    this.cut = this.at;
  }

  /** The message's parts in order. */
  finish(): Uint8Array[] {
    if (this.at > this.cut || this.parts.length === 0) this.parts.push(this.bytes.subarray(this.cut, this.at));
    return this.parts;
  }

  raw(b: Uint8Array): void {
    this.bytes.set(b, this.at);
    this.at += b.length;
  }

  /** A type byte, then `n` in `width` big-endian bytes. */
  private head(type: number, width: 1 | 2 | 4, n: number): void {
    this.bytes[this.at++] = type;
    if (width === 1) this.bytes[this.at] = n;
    else if (width === 2) this.view.setUint16(this.at, n);
    else this.view.setUint32(this.at, n);
    this.at += width;
  }
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
  const version = msg[0];
  if (typeof version !== 'number' || version < OLDEST_VERSION || version > CHANNEL_STATE_VERSION || !Number.isInteger(version))
    throw corrupt(`format version ${JSON.stringify(version)}, this eddy reads ${OLDEST_VERSION} to ${CHANNEL_STATE_VERSION}`);
  const list = (v: unknown): ChannelFrames[] => {
    if (!Array.isArray(v)) throw corrupt('channel list is not an array');
    return v.map((e: unknown) => {
      if (!Array.isArray(e) || e.length !== 4 || !Array.isArray(e[3])) throw corrupt('bad channel entry');
      const frames = (e[3] as unknown[]).map((f) => {
        if (!Array.isArray(f) || typeof f[0] !== 'number' || typeof f[1] !== 'number' || !(f[2] instanceof Uint8Array))
          throw corrupt('bad frame');
        if (f.length === 3) return { type: f[0], flags: f[1], payload: f[2] };
        if (f.length !== 4 || version < 2) throw corrupt('bad frame');
        return restOf(f[0], f[1], f[2], f[3], corrupt);
      });
      return { channel: Number(e[0]), edge: Number(e[1]), peer: Number(e[2]), frames };
    });
  };
  const v = msg[3] as unknown;
  if (v === null) return { inputs: list(msg[1]), outputs: list(msg[2]) };
  if (
    !Array.isArray(v) ||
    v.length !== 4 ||
    !Array.isArray(v[0]) ||
    !Array.isArray(v[1]) ||
    !Array.isArray(v[2]) ||
    typeof v[3] !== 'number'
  )
    throw corrupt('bad watermark valve');
  const valve: ValveState = { wm: v[0] as number[], idle: v[1] as number[], ended: v[2] as number[], last: v[3] };
  return { inputs: list(msg[1]), outputs: list(msg[2]), valve };
}

let restCodec: { decoder: BatchDecoder; encoder: BatchEncoder } | undefined;

/** A stored frame with `skip` as a records frame of its remaining records (at a restore). */
function restOf(type: number, flags: number, payload: Uint8Array, skip: unknown, corrupt: (why: string) => EddyError): OwnedFrame {
  if (type !== FRAME_RECORDS) throw corrupt(`a frame of type ${type} has records to skip`);
  restCodec ??= { decoder: new BatchDecoder(), encoder: new BatchEncoder() };
  let decoded: unknown[];
  try {
    decoded = restCodec.decoder.decode(payload);
  } catch (err) {
    throw corrupt(`a records frame does not decode (${(err as Error).message})`);
  }
  const stamped = (flags & RECORDS_FLAG_TIMESTAMPS) !== 0;
  const batch = stamped && Array.isArray(decoded) ? decoded : undefined;
  const records: unknown = stamped ? batch?.[0] : decoded;
  const stamps: unknown = batch?.[1];
  if (!Array.isArray(records) || (stamped && (!Array.isArray(stamps) || stamps.length !== records.length)))
    throw corrupt('a records frame is not a batch of records');
  if (typeof skip !== 'number' || !Number.isInteger(skip) || skip <= 0 || skip >= records.length)
    throw corrupt(`${JSON.stringify(skip)} records to skip of a frame of ${records.length}`);
  const rest = records.slice(skip);
  const bytes = restCodec.encoder.encode(stamped ? [rest, (stamps as unknown[]).slice(skip)] : rest);
  // A copy: the encoder returns a Buffer view of its own memory, and Buffer.slice is a view too.
  return { type, flags, payload: new Uint8Array(bytes) };
}
