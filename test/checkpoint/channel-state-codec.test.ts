// test-lane: pair
// The channel-state encoder writes msgpack itself (one buffer of exactly the message's size,
// each payload copied once): its bytes must be exactly what msgpackr, an independent encoder,
// makes of the same message, at every size boundary of the forms it writes (integers, arrays,
// bin), and decode back to the state.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { crc32 } from 'node:zlib';
import { Packr } from 'msgpackr';
import {
  CHANNEL_STATE_VERSION,
  decodeChannelState,
  encodeChannelState,
  encodeChannelStateParts,
  type ChannelFrames,
  type TaskChannelState,
} from '../../core/checkpoint/channel-state.js';
import { prng } from '../helpers/prng.js';

const packr = new Packr({ useRecords: false });
/** The format as channel-state.ts documents it, packed by msgpackr. */
const reference = (s: TaskChannelState) => {
  const entries = (l: ChannelFrames[]) =>
    l.filter((c) => c.frames.length > 0).map((c) => [c.channel, c.edge, c.peer, c.frames.map((f) => [f.type, f.flags, f.payload])]);
  const v = s.valve;
  return new Uint8Array(
    packr.pack([CHANNEL_STATE_VERSION, entries(s.inputs), entries(s.outputs), v ? [v.wm, v.idle, v.ended, v.last] : null]),
  );
};

/** Distinct contents cheaply: a byte pattern from the seed. */
const payload = (n: number, seed: number) => {
  const p = new Uint8Array(n).fill(seed);
  for (let i = 0; i < n; i += 97) p[i] = (seed + i) & 0xff;
  return p;
};

const INTS = [0, 1, 127, 128, 255, 256, 65535, 65536, 2 ** 32 - 1];
const LENGTHS = [0, 1, 2, 255, 256, 65535, 65536];
const COUNTS = [0, 1, 15, 16, 17];

it('encodes byte for byte as msgpackr does, at every size boundary, and decodes back', () => {
  const rand = prng(13);
  const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)];
  for (let round = 0; round < 25; round++) {
    const channels = () =>
      Array.from({ length: pick(COUNTS) }, (): ChannelFrames => ({
        channel: pick(INTS),
        edge: pick(INTS),
        peer: pick(INTS),
        frames: Array.from({ length: pick(COUNTS) }, () => ({
          type: pick(INTS),
          flags: pick(INTS),
          payload: payload(pick(LENGTHS), Math.floor(rand() * 256)),
        })),
      }));
    const s: TaskChannelState = { inputs: channels(), outputs: channels() };
    if (rand() < 0.5) s.valve = { wm: [1.5, -Infinity], idle: [0, 1], ended: [], last: pick([-Infinity, 17, 2 ** 40]) };
    // Input payloads (whole buffers here) go out as parts of their own, not copied; output
    // payloads (still to be sent by the task) are copied in. The joined parts are the message.
    const parts = encodeChannelStateParts(s);
    for (const c of s.inputs)
      for (const f of c.frames)
        if (f.payload.length > 0) assert.ok(parts.includes(f.payload), `round ${round}: an input payload is a part as it is`);
    for (const c of s.outputs)
      for (const f of c.frames) assert.ok(!parts.includes(f.payload), `round ${round}: an output payload is copied`);
    assert.equal(
      new Set(parts.map((p) => p.buffer)).size,
      1 + parts.filter((p) => s.inputs.some((c) => c.frames.some((f) => f.payload === p))).length,
      'besides the input payloads, one buffer',
    );
    const bytes = encodeChannelState(s);
    assert.ok(Buffer.from(bytes.buffer).equals(reference(s)), `round ${round}: the bytes differ from msgpackr's`);
    assert.equal(bytes.byteOffset, 0);
    assert.equal(bytes.byteLength, bytes.buffer.byteLength, 'the buffer is exactly the message (it is transferred whole)');
    const back = decodeChannelState(bytes, 'test');
    // Payloads compared by their CRC (deepEqual over megabytes of numbers takes minutes), the rest as is.
    const nonEmpty = (l: ChannelFrames[]) =>
      l
        .filter((c) => c.frames.length > 0)
        .map((c) => ({
          ...c,
          frames: c.frames.map((f) => ({ type: f.type, flags: f.flags, length: f.payload.length, crc: crc32(f.payload) })),
        }));
    const plain = (x: TaskChannelState) => ({ inputs: nonEmpty(x.inputs), outputs: nonEmpty(x.outputs), valve: x.valve });
    assert.deepEqual(plain(back), plain(s), `round ${round}`);
  }
});
