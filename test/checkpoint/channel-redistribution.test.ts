// test-lane: pair
/**
 * A randomized model test of re-dealing stored in-flight data at another parallelism: random
 * old producer and consumer parallelism, new consumer parallelism, edge kind (hash or
 * rebalance), max parallelism, stored streams per old channel (record frames with and without
 * event timestamps, watermark frames), each cut at a random point into the consumer's input
 * state and the producer's output state, written and read back through the channel-state
 * file format, with data of another edge beside it.
 *
 * Checked, over every new subtask: each stored record lands exactly once, at the subtask that
 * owns it — on a hash edge the one whose key-group range (as the keyed state restore assigns
 * it) holds the record's key group, on a rebalance edge subtask n mod p for the n-th record
 * of the dealing order (channels by consumer then producer), which the test lays out itself —
 * with its timestamp, in its channel's order; nothing of the other edge and no watermark
 * frame comes through.
 *
 * And the input gate: every restored frame is served before any ring frame, on any channel.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { BatchDecoder, BatchEncoder } from '../../core/channel/codec.js';
import { createGate } from '../../core/channel/gate.js';
import { FRAME_RECORDS, FRAME_WATERMARK, RECORDS_FLAG_TIMESTAMPS } from '../../core/channel/layout.js';
import { createRing, RingProducer, type OwnedFrame } from '../../core/channel/ring.js';
import { decodeChannelState, encodeChannelState, type ChannelFrames, type TaskChannelState } from '../../core/checkpoint/channel-state.js';
import { byKeyGroup, redistribute, roundRobin, storedChannels } from '../../core/checkpoint/channel-redistribution.js';
import { keyGroupFor, keyGroupRange } from '../../core/state/key-groups.js';
import { InputGate } from '../../workers/input-gate.js';
import { prng } from '../helpers/prng.js';

const SEEDS = process.env.EDDY_SOAK === '1' ? 1500 : 150;
const EDGE = 3;
const OTHER_EDGE = 5;

interface Rec {
  id: number;
  key: string;
  /** Old channel, producer and consumer. */
  p: number;
  c: number;
}

const encoder = new BatchEncoder();
const decoder = new BatchDecoder();
const wmFrame = (wm: number): OwnedFrame => ({ type: FRAME_WATERMARK, flags: 0, payload: new Uint8Array(new Float64Array([wm]).buffer) });
const recordFrame = (recs: Rec[], timed: boolean): OwnedFrame => ({
  type: FRAME_RECORDS,
  flags: timed ? RECORDS_FLAG_TIMESTAMPS : 0,
  payload: encoder.encode(timed ? [recs, recs.map((x) => x.id * 10)] : recs).slice(),
});

function runSeed(seed: number): void {
  const r = prng(seed);
  const int = (n: number) => Math.floor(r() * n);
  const kind = r() < 0.5 ? 'hash' : 'rebalance';
  const producers = 1 + int(4);
  const consumers = 1 + int(4);
  const next = 1 + int(5);
  const maxParallelism = [8, 16, 128, 100][int(4)];
  const timed = r() < 0.5;
  const keys = Array.from({ length: 1 + int(40) }, (_, k) => `k${k}`);

  // Per old channel: the stored stream (records in order), cut into input state | output state.
  const inputs: ChannelFrames[][] = Array.from({ length: consumers }, () => []);
  const outputs: ChannelFrames[][] = Array.from({ length: producers }, () => []);
  const stored: Rec[][][] = Array.from({ length: consumers }, () => Array.from({ length: producers }, () => []));
  let id = 0;
  for (let c = 0; c < consumers; c++) {
    for (let p = 0; p < producers; p++) {
      if (r() < 0.2) continue; // an empty channel
      const frames: OwnedFrame[] = [];
      for (let f = int(6); f >= 0; f--) {
        if (r() < 0.2) frames.push(wmFrame(id));
        const recs = Array.from({ length: 1 + int(30) }, () => ({ id: id++, key: keys[int(keys.length)], p, c }));
        stored[c][p].push(...recs);
        frames.push(recordFrame(recs, timed));
      }
      const cut = int(frames.length + 1);
      inputs[c].push({ channel: inputs[c].length, edge: EDGE, peer: p, frames: frames.slice(0, cut) });
      outputs[p].push({ channel: outputs[p].length, edge: EDGE, peer: c, frames: frames.slice(cut) });
      // Another edge's data in the same files must stay out.
      if (r() < 0.3)
        inputs[c].push({
          channel: inputs[c].length,
          edge: OTHER_EDGE,
          peer: p,
          frames: [recordFrame([{ id: -1, key: 'x', p, c }], timed)],
        });
    }
  }
  // Through the file format, as the worker reads it.
  const roundTrip = (s: TaskChannelState) => decodeChannelState(encodeChannelState(s), 'test');
  const consumerStates = inputs.map((l, subtask) => ({ subtask, state: roundTrip({ inputs: l, outputs: [] }) }));
  const producerStates = outputs.map((l, subtask) => ({ subtask, state: roundTrip({ inputs: [], outputs: l }) }));

  // The reference: every stored record's owner and the order it must keep.
  const owner = new Map<number, number>();
  let n = 0;
  for (let c = 0; c < consumers; c++) {
    for (let p = 0; p < producers; p++) {
      for (const x of stored[c][p]) {
        if (kind === 'rebalance') owner.set(x.id, n++ % next);
        else {
          const kg = keyGroupFor(x.key, maxParallelism);
          let s = 0;
          while (!(keyGroupRange(s, maxParallelism, next).start <= kg && kg <= keyGroupRange(s, maxParallelism, next).end)) s++;
          owner.set(x.id, s);
        }
      }
    }
  }

  const seen = new Map<number, number>();
  for (let s = 0; s < next; s++) {
    const channels = storedChannels(EDGE, consumerStates, producerStates);
    const route = kind === 'hash' ? byKeyGroup((x) => (x as Rec).key, maxParallelism, next) : roundRobin(next);
    const lastInChannel = new Map<string, number>();
    for (const f of redistribute(channels, route, s)) {
      assert.equal(f.type, FRAME_RECORDS, `seed ${seed}: only record frames are replayed`);
      assert.equal(f.flags, timed ? RECORDS_FLAG_TIMESTAMPS : 0, `seed ${seed}: the frame keeps its timestamp flag`);
      const decoded = decoder.decode(f.payload);
      const recs = (timed ? decoded[0] : decoded) as Rec[];
      if (timed)
        assert.deepEqual(
          decoded[1],
          recs.map((x) => x.id * 10),
          `seed ${seed}: timestamps travel with their records`,
        );
      for (const x of recs) {
        assert.notEqual(x.id, -1, `seed ${seed}: a record of another edge came through`);
        assert.equal(seen.has(x.id), false, `seed ${seed}: record ${x.id} delivered twice`);
        seen.set(x.id, s);
        assert.equal(
          s,
          owner.get(x.id),
          `seed ${seed} (${kind}, ${producers}x${consumers} -> ${next}): record ${x.id} (key ${x.key}) at subtask ${s}`,
        );
        const ch = `${x.p}/${x.c}`;
        assert.ok((lastInChannel.get(ch) ?? -1) < x.id, `seed ${seed}: record ${x.id} out of its channel's order`);
        lastInChannel.set(ch, x.id);
      }
    }
  }
  assert.equal(seen.size, owner.size, `seed ${seed}: ${owner.size - seen.size} stored records were lost`);
}

test('stored in-flight records are re-dealt exactly once to the subtask owning them (hash: key group, rebalance: round robin)', () => {
  for (let seed = 1; seed <= SEEDS; seed++) runSeed(seed);
});

test('the input gate serves every restored frame, on any channel, before it reads any ring', () => {
  const gate = createGate();
  const rings = [createRing(4096), createRing(4096), createRing(4096)];
  const producerGates = rings.map(() => createGate());
  const input = new InputGate(
    rings.map((ring, c) => ({ edge: 0, producerSubtask: c, ring, producerGate: producerGates[c] })),
    () => 0,
    gate,
  );
  // New input waits in rings 0 and 2; stored frames are restored on channel 1 (after a rescale
  // the stored records of a key may come on another channel than its new ones) and on 2.
  for (const c of [0, 2]) new RingProducer(rings[c], gate).tryWrite(FRAME_RECORDS, 0, encoder.encode([`new ${c}`]));
  input.replay(1, [recordFrame([{ id: 1, key: 'a', p: 0, c: 0 }], false), recordFrame([{ id: 2, key: 'a', p: 0, c: 0 }], false)]);
  input.replay(2, [recordFrame([{ id: 3, key: 'b', p: 0, c: 0 }], false)]);
  const order: unknown[] = [];
  for (let i = input.poll(); i >= 0; i = input.poll()) {
    const src = input.sources[i];
    const batch = decoder.decode(src.payload()) as unknown[];
    src.release();
    order.push(...batch.map((x) => (typeof x === 'string' ? x : (x as Rec).id)));
  }
  assert.deepEqual(order.slice(0, 3).sort(), [1, 2, 3]);
  assert.deepEqual(order.indexOf(1) < order.indexOf(2), true);
  assert.deepEqual(order.slice(3).sort(), ['new 0', 'new 2']);
});
