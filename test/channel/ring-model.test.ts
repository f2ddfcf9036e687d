/**
 * Model-based test of the SPSC ring (single thread): random sequences of writes and reads on
 * small rings are checked against a plain array queue and an independent computation of the
 * free space (absolute, non-wrapping positions; the WRAP padding counted explicitly), also
 * while the consumer sets a soft capacity (buffer debloating) now and then.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RingConsumer, RingProducer, createRing, maxPayloadBytes } from '../../core/channel/ring.js';
import { Gate, createGate } from '../../core/channel/gate.js';
import {
  FRAME_BARRIER,
  FRAME_CANCEL_BARRIER,
  FRAME_END_OF_STREAM,
  FRAME_HEADER_BYTES,
  FRAME_RECORDS,
  FRAME_WATERMARK,
  FRAME_WRAP,
  GATE_SEQ,
  RING_HEADER_BYTES,
  RING_READ_POS,
  RING_WRITE_POS,
} from '../../core/channel/layout.js';

const TWO_32 = 2 ** 32;
const FRAME_TYPES = [FRAME_RECORDS, FRAME_BARRIER, FRAME_CANCEL_BARRIER, FRAME_WATERMARK, FRAME_END_OF_STREAM];

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

function randomBytes(len: number, seed: number): Uint8Array {
  const next = mulberry32(seed);
  const out = new Uint8Array(len);
  for (let i = 0; i < len; i++) out[i] = next() & 0xff;
  return out;
}

/** A ring whose free-running positions both start at `base` (must be a multiple of 8). */
function makeRing(capacity: number, base = 0) {
  const ring = createRing(capacity);
  const gateBuf = createGate();
  const hdr = new Int32Array(ring, 0, RING_HEADER_BYTES / 4);
  hdr[RING_WRITE_POS] = base | 0;
  hdr[RING_READ_POS] = base | 0;
  return { ring, gateBuf, hdr, producer: new RingProducer(ring, gateBuf), consumer: new RingConsumer(ring) };
}

type ModelFrame = {
  type: number;
  flags: number;
  bytes?: Uint8Array;
  numbers?: number[];
  /** Absolute (never wrapping) position just after this frame. */
  end: number;
};

/**
 * The model's own free-space rule, written from the layout's description rather than from
 * ring.ts: a frame takes align8(8 + len) bytes; if it does not fit between the write offset
 * and the end of the data area, the tail is padded (WRAP) and the frame starts at offset 0.
 * It fits iff everything up to its end lies within `capacity` bytes of the read position.
 * Positions here are plain JS numbers that never wrap (they go past 2^32 freely).
 */
class Model {
  readonly frames: ModelFrame[] = [];
  /** The consumer's soft capacity (0: none): a frame must end within it, unless the ring is empty. */
  soft = 0;
  constructor(
    readonly capacity: number,
    public w: number,
    public r: number,
  ) {}

  frameEnd(len: number): number {
    const size = Math.ceil((FRAME_HEADER_BYTES + len) / 8) * 8;
    const off = this.w % this.capacity;
    const start = off + size <= this.capacity ? this.w : this.w + (this.capacity - off);
    return start + size;
  }

  fits(len: number): boolean {
    const limit = this.w === this.r || this.soft === 0 ? this.capacity : Math.min(this.soft, this.capacity);
    return this.frameEnd(len) - this.r <= limit;
  }
}

type LenSpec = { mode: 'small' | 'any' | 'nearMax'; v: number };
type Op =
  | { k: 'write'; len: LenSpec; type: number; flags: number; seed: number; viewOffset: number }
  | { k: 'numbers'; type: number; flags: number; count: number; vals: [number, number, number] }
  | { k: 'read'; n: number }
  | { k: 'soft'; bytes: number };

const lenSpecArb: fc.Arbitrary<LenSpec> = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 24 }).map((v): LenSpec => ({ mode: 'small', v })) },
  { weight: 4, arbitrary: fc.integer({ min: 0, max: 1 << 16 }).map((v): LenSpec => ({ mode: 'any', v })) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 16 }).map((v): LenSpec => ({ mode: 'nearMax', v })) },
);

function resolveLen(spec: LenSpec, maxPayload: number): number {
  switch (spec.mode) {
    case 'small':
      return Math.min(spec.v, maxPayload);
    case 'any':
      return spec.v % (maxPayload + 1);
    case 'nearMax':
      return maxPayload - spec.v;
  }
}

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      k: fc.constant('write' as const),
      len: lenSpecArb,
      type: fc.constantFrom(...FRAME_TYPES),
      flags: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff })),
      seed: fc.integer(),
      viewOffset: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 13 })),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      k: fc.constant('numbers' as const),
      type: fc.constantFrom(...FRAME_TYPES),
      flags: fc.integer({ min: 0, max: 0xffff }),
      count: fc.integer({ min: 0, max: 3 }),
      vals: fc.tuple(fc.double(), fc.double(), fc.double()),
    }),
  },
  { weight: 4, arbitrary: fc.record({ k: fc.constant('read' as const), n: fc.integer({ min: 1, max: 4 }) }) },
  // 0 (off), anything up to past the capacity (at or above it: off as well).
  {
    weight: 1,
    arbitrary: fc.record({ k: fc.constant('soft' as const), bytes: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 10_000 })) }),
  },
);

/** Positions start either at 0, anywhere, or just below 2^32 so that they wrap mid-run. */
const baseArb = fc.oneof(
  fc.constant(0),
  fc.integer({ min: 0, max: TWO_32 / 8 - 1 }).map((k) => k * 8),
  fc.integer({ min: 1, max: 4096 }).map((k) => TWO_32 - k * 8),
);

function readAndCheck(m: Model, consumer: RingConsumer, producer: RingProducer, hdr: Int32Array): void {
  const ok = consumer.poll();
  assert.equal(ok, m.frames.length > 0, 'poll() must report a frame exactly when the model has one');
  if (!ok) {
    assert.equal(consumer.frameType, -1);
    return;
  }
  assert.equal(consumer.poll(), true, 'poll() is idempotent until release()');
  const want = m.frames[0];
  assert.equal(consumer.frameType, want.type);
  assert.notEqual(consumer.frameType, FRAME_WRAP, 'a WRAP frame must never surface');
  assert.equal(consumer.frameFlags, want.flags);
  const off = consumer.payloadOffset - RING_HEADER_BYTES;
  assert.ok(off >= FRAME_HEADER_BYTES && off % 8 === 0, `payload offset ${off} is aligned`);
  assert.ok(off + consumer.payloadLength <= m.capacity, 'a frame never straddles the end of the data area');
  if (want.numbers) {
    assert.equal(consumer.payloadLength, want.numbers.length * 8);
    for (let i = 0; i < want.numbers.length; i++) {
      assert.ok(Object.is(consumer.number(i), want.numbers[i]), `number(${i}) = ${consumer.number(i)}, want ${want.numbers[i]}`);
    }
  } else {
    assert.equal(consumer.payloadLength, want.bytes!.length);
    const p = consumer.payload();
    assert.equal(p.buffer, consumer.buffer, 'payload() is a view over the ring, not a copy');
    assert.deepEqual(new Uint8Array(p.buffer, p.byteOffset, p.byteLength), want.bytes);
  }
  consumer.release();
  m.frames.shift();
  m.r = want.end;
  assert.equal(consumer.frameType, -1);
  assert.equal(hdr[RING_READ_POS] >>> 0, m.r % TWO_32, 'READ_POS follows the model');
  if (m.frames.length === 0) {
    assert.ok(producer.hasSpaceFor(producer.maxPayload), 'an empty ring always takes a maximal frame');
  }
}

let softSets = 0;

function runScenario(capacity: number, base: number, ops: Op[]): { wraps: number; fullRefusals: number } {
  const { producer, consumer, hdr } = makeRing(capacity, base);
  assert.equal(producer.maxPayload, maxPayloadBytes(capacity));
  const m = new Model(capacity, base, base);
  let fullRefusals = 0;
  let wraps = 0;

  for (const op of ops) {
    if (op.k === 'write' || op.k === 'numbers') {
      const len = op.k === 'write' ? resolveLen(op.len, producer.maxPayload) : op.count * 8;
      const expectFit = m.fits(len);
      assert.equal(producer.hasSpaceFor(len), expectFit, `hasSpaceFor(${len})`);
      let ok: boolean;
      let frame: ModelFrame;
      if (op.k === 'write') {
        const bytes = randomBytes(len, op.seed);
        // Sometimes hand over a view at an offset into a larger buffer.
        let arg: Uint8Array | undefined = bytes;
        if (op.viewOffset > 0) {
          const big = new Uint8Array(len + op.viewOffset + 5).fill(0xee);
          big.set(bytes, op.viewOffset);
          arg = big.subarray(op.viewOffset, op.viewOffset + len);
        } else if (len === 0 && (op.seed & 1) === 0) {
          arg = undefined;
        }
        ok = producer.tryWrite(op.type, op.flags, arg);
        frame = { type: op.type, flags: op.flags, bytes, end: 0 };
      } else {
        const [a, b, c] = op.vals;
        ok = producer.tryWriteNumbers(op.type, op.flags, op.count, a, b, c);
        frame = { type: op.type, flags: op.flags, numbers: op.vals.slice(0, op.count), end: 0 };
      }
      assert.equal(ok, expectFit, `tryWrite(${len}) at w=${m.w} r=${m.r} cap=${capacity}: got ${ok}, model says ${expectFit}`);
      if (ok) {
        const end = m.frameEnd(len);
        if (end - m.w > Math.ceil((FRAME_HEADER_BYTES + len) / 8) * 8) wraps++;
        frame.end = end;
        m.w = end;
        m.frames.push(frame);
      } else {
        fullRefusals++;
      }
      assert.equal(hdr[RING_WRITE_POS] >>> 0, m.w % TWO_32, 'WRITE_POS follows the model');
    } else if (op.k === 'soft') {
      consumer.setSoftCapacity(op.bytes);
      m.soft = op.bytes >= capacity ? 0 : op.bytes;
      softSets++;
    } else {
      for (let i = 0; i < op.n; i++) readAndCheck(m, consumer, producer, hdr);
    }
  }

  // Close, then drain: every frame still comes out in order, then `drained`.
  producer.close();
  assert.equal(consumer.drained, m.frames.length === 0);
  while (m.frames.length > 0) {
    assert.equal(consumer.drained, false);
    readAndCheck(m, consumer, producer, hdr);
  }
  assert.equal(consumer.poll(), false);
  assert.equal(consumer.drained, true);
  return { wraps, fullRefusals };
}

test('ring agrees with an array-queue model (random ops, small rings, positions near 2^32)', () => {
  let wraps = 0;
  let refusals = 0;
  let runs = 0;
  fc.assert(
    fc.property(
      fc.constantFrom(1024, 2048, 4096, 8192),
      baseArb,
      fc.array(opArb, { minLength: 1, maxLength: 300, size: 'max' }),
      (capacity, base, ops) => {
        const s = runScenario(capacity, base, ops);
        wraps += s.wraps;
        refusals += s.fullRefusals;
        runs++;
      },
    ),
    { numRuns: 400 },
  );
  // The generator must actually reach the interesting cases.
  assert.ok(wraps > runs, `WRAP padding exercised (${wraps} over ${runs} runs)`);
  assert.ok(refusals > runs, `full-ring refusals exercised (${refusals} over ${runs} runs)`);
  assert.ok(softSets > runs / 2, `soft capacities exercised (${softSets} over ${runs} runs)`);
});

test('exactly full: two half-capacity frames fill the ring, a third byte does not fit', () => {
  for (const base of [0, TWO_32 - 512, TWO_32 - 1024]) {
    const { producer, consumer, hdr } = makeRing(1024, base);
    const a = randomBytes(producer.maxPayload, 1);
    const b = randomBytes(producer.maxPayload, 2);
    assert.equal(producer.tryWrite(FRAME_RECORDS, 1, a), true);
    assert.equal(producer.tryWrite(FRAME_RECORDS, 2, b), true);
    assert.equal((hdr[RING_WRITE_POS] - hdr[RING_READ_POS]) >>> 0, 1024, 'used == capacity');
    assert.equal(producer.hasSpaceFor(0), false);
    assert.equal(producer.tryWrite(FRAME_WATERMARK, 0), false);
    assert.equal(producer.tryWriteNumbers(FRAME_WATERMARK, 0, 1, 5), false);
    assert.ok(consumer.poll());
    assert.deepEqual(new Uint8Array(consumer.payload()), a);
    consumer.release();
    assert.equal(producer.tryWrite(FRAME_RECORDS, 3, b), true, 'freed space is reusable at once');
    assert.ok(consumer.poll());
    assert.equal(consumer.frameFlags, 2);
    assert.deepEqual(new Uint8Array(consumer.payload()), b);
    consumer.release();
    assert.ok(consumer.poll());
    assert.equal(consumer.frameFlags, 3);
    consumer.release();
    assert.equal(consumer.poll(), false);
  }
});

test('a frame larger than maxPayload throws and leaves the ring untouched', () => {
  for (const capacity of [1024, 4096, 65536]) {
    const { producer, consumer, hdr } = makeRing(capacity);
    assert.equal(producer.maxPayload, capacity / 2 - FRAME_HEADER_BYTES);
    const before = hdr[RING_WRITE_POS];
    assert.throws(() => producer.tryWrite(FRAME_RECORDS, 0, new Uint8Array(producer.maxPayload + 1)), RangeError);
    assert.throws(() => producer.tryWrite(FRAME_RECORDS, 0, new Uint8Array(capacity)), RangeError);
    assert.equal(hdr[RING_WRITE_POS], before);
    assert.equal(consumer.poll(), false);
    assert.equal(producer.tryWrite(FRAME_RECORDS, 0, new Uint8Array(producer.maxPayload)), true);
  }
});

test('tryWriteNumbers rejects a count outside 0..3', () => {
  const { producer, consumer } = makeRing(1024);
  assert.throws(() => producer.tryWriteNumbers(FRAME_WATERMARK, 0, 4, 1, 2, 3), RangeError);
  assert.throws(() => producer.tryWriteNumbers(FRAME_WATERMARK, 0, -1), RangeError);
  assert.throws(() => producer.tryWriteNumbers(FRAME_WATERMARK, 0, 1.5), RangeError);
  assert.equal(consumer.poll(), false);
});

test('free-running u32 positions wrap past 2^32 (long deterministic run)', () => {
  // Start 3 KiB before 2^32 on a 1 KiB ring and push ~1 MiB through it, so both counters
  // cross 2^32 with every possible alignment of frames against the wrap.
  const capacity = 1024;
  const base = TWO_32 - 3 * 1024;
  const { producer, consumer, hdr } = makeRing(capacity, base);
  const next = mulberry32(42);
  const queue: Uint8Array[] = [];
  let written = 0;
  let read = 0;
  let crossedW = false;
  let seq = 0;
  while (written < 1 << 20) {
    assert.ok(seq < 1_000_000, 'no progress');
    const len = next() % (producer.maxPayload + 1);
    const bytes = randomBytes(len, seq++);
    if (producer.tryWrite(FRAME_RECORDS, seq & 0xffff, bytes)) {
      queue.push(bytes);
      written += len;
    }
    if (hdr[RING_WRITE_POS] >>> 0 < base) crossedW = true;
    // Read a random number of frames (sometimes none, so the ring fills up).
    let n = next() % 3;
    while (n-- > 0 && consumer.poll()) {
      assert.deepEqual(new Uint8Array(consumer.payload()), queue.shift());
      read += consumer.payloadLength;
      consumer.release();
    }
  }
  while (consumer.poll()) {
    assert.deepEqual(new Uint8Array(consumer.payload()), queue.shift());
    read += consumer.payloadLength;
    consumer.release();
  }
  assert.equal(queue.length, 0);
  assert.equal(read, written);
  assert.ok(crossedW, 'WRITE_POS wrapped past 2^32');
  assert.ok(hdr[RING_READ_POS] >>> 0 < base, 'READ_POS wrapped past 2^32');
});

test('publishing rings the gate only while the consumer is armed', () => {
  const { producer, consumer, gateBuf } = makeRing(1024);
  const cells = new Int32Array(gateBuf);
  const gate = new Gate(gateBuf);
  assert.equal(producer.tryWrite(FRAME_RECORDS, 0, new Uint8Array(3)), true);
  assert.equal(cells[GATE_SEQ], 0, 'no doorbell while nobody sleeps');
  gate.arm();
  assert.equal(producer.tryWriteNumbers(FRAME_WATERMARK, 0, 1, 7), true);
  assert.equal(cells[GATE_SEQ], 1, 'an armed consumer is rung');
  gate.disarm();
  assert.equal(producer.tryWrite(FRAME_RECORDS, 0), true);
  assert.equal(cells[GATE_SEQ], 1);
  let n = 0;
  while (consumer.poll()) {
    consumer.release();
    n++;
  }
  assert.equal(n, 3);
});

test('waitForSpace resolves only once the frame fits, and always by the time the consumer has read everything', async () => {
  const tick = () => new Promise<void>((resolve) => setImmediate(resolve));
  let wokeBeforeEmpty = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(1024, 2048, 4096),
      baseArb,
      fc.array(fc.nat(), { minLength: 1, maxLength: 60 }),
      fc.nat(),
      async (capacity, base, sizes, want) => {
        const { producer, consumer } = makeRing(capacity, base);
        // Fill the ring with frames of random sizes until one does not fit.
        let i = 0;
        while (producer.tryWrite(FRAME_RECORDS, 0, new Uint8Array(sizes[i++ % sizes.length] % (producer.maxPayload + 1))));
        const len = want % (producer.maxPayload + 1);
        if (producer.hasSpaceFor(len)) return;
        let resolved = false;
        const waiting = producer.waitForSpace(len).then(() => {
          resolved = true;
          assert.ok(producer.hasSpaceFor(len), 'waitForSpace resolved without room for the frame');
        });
        while (consumer.poll()) {
          consumer.release();
          await tick();
          if (resolved) {
            if (consumer.poll()) wokeBeforeEmpty++; // woken as soon as enough was free
            break;
          }
        }
        await Promise.race([waiting, new Promise((r) => setTimeout(r, 1000).unref())]);
        assert.ok(resolved, 'a producer waiting for space was never woken although the ring emptied');
        assert.equal(producer.tryWrite(FRAME_RECORDS, 1, new Uint8Array(len)), true);
      },
    ),
    { numRuns: 150 },
  );
  assert.ok(wokeBeforeEmpty > 0);
});
