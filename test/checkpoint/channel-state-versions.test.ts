// test-lane: pair
// Channel-state format versions (core/checkpoint/channel-state.ts): version 1 stores the frame a
// task was part-way through delivering as a records frame of its remaining records; version 2
// stores that frame as it came, with the index of its first undelivered record ([type, flags,
// payload, skip]). Messages are built here per the documented format with msgpackr; both forms
// of the same cut must restore to the same records, and a corrupt `skip` is refused in one line.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { Packr, Unpackr } from 'msgpackr';
import { FRAME_RECORDS, FRAME_WATERMARK, RECORDS_FLAG_TIMESTAMPS } from '../../core/channel/layout.js';
import { decodeChannelState, encodeChannelState } from '../../core/checkpoint/channel-state.js';
import { EddyError } from '../../core/failure.js';

const structure = new Packr({ useRecords: false });
// A records payload as a producer sends it (msgpack with record structures, as the ring codec documents).
const batchPackr = new Packr({ useRecords: true, structuredClone: false });
const batchUnpackr = new Unpackr({ useRecords: true, structuredClone: false });

const records = Array.from({ length: 300 }, (_, i) => ({ key: `k${i % 17}`, n: i, v: i * 1.5 }));
const stamps = records.map((_, i) => 1_000 + i);
const later = { key: 'later', n: -1, v: 0 };

type Frame = [number, number, Uint8Array] | [number, number, Uint8Array, number];
const message = (version: number, frames: Frame[]) => new Uint8Array(structure.pack([version, [[0, 3, 1, frames]], [], null]));
const payload = (x: unknown) => new Uint8Array(batchPackr.pack(x));

/** The records (as `record @ stamp` when stamped) a restore replays from the decoded state. */
function replayed(bytes: Uint8Array): unknown[] {
  const s = decodeChannelState(bytes, 'test');
  const out: unknown[] = [];
  for (const c of s.inputs)
    for (const f of c.frames) {
      assert.equal((f as { skip?: number }).skip, undefined, 'a decoded frame has nothing to skip');
      if (f.type !== FRAME_RECORDS) {
        out.push(`frame ${f.type}`);
        continue;
      }
      const d = batchUnpackr.unpack(f.payload) as unknown[];
      if ((f.flags & RECORDS_FLAG_TIMESTAMPS) === 0) out.push(...d);
      else out.push(...(d[0] as unknown[]).map((r, i) => [r, (d[1] as number[])[i]]));
    }
  return out;
}

for (const stamped of [false, true])
  for (const skip of [1, 37, 299])
    it(`version 1 (rest re-encoded) and version 2 (whole frame, skip ${skip}) restore the same records${stamped ? ', with timestamps' : ''}`, () => {
      const flags = stamped ? RECORDS_FLAG_TIMESTAMPS : 0;
      const whole = (rs: unknown[], ts: number[]) => payload(stamped ? [rs, ts] : rs);
      const next: Frame = [FRAME_RECORDS, flags, whole([later], [9_999])];
      const v1 = message(1, [[FRAME_RECORDS, flags, whole(records.slice(skip), stamps.slice(skip))], next]);
      const v2 = message(2, [[FRAME_RECORDS, flags, whole(records, stamps), skip], next]);
      const expected = [...records.slice(skip), later].map((r, i) => (stamped ? [r, [...stamps.slice(skip), 9_999][i]] : r));
      assert.deepEqual(replayed(v1), expected);
      assert.deepEqual(replayed(v2), expected);
    });

it('the encoder writes a cut frame as version 2 documents it, and it restores to the remaining records', () => {
  const whole = payload(records);
  const bytes = encodeChannelState({
    inputs: [{ channel: 0, edge: 3, peer: 1, frames: [{ type: FRAME_RECORDS, flags: 0, payload: whole, skip: 5 }] }],
    outputs: [],
  });
  assert.deepEqual(structure.unpack(bytes), [2, [[0, 3, 1, [[FRAME_RECORDS, 0, whole, 5]]]], [], null]);
  assert.deepEqual(replayed(bytes), records.slice(5));
});

it('refuses a corrupt skip, a skip in a version 1 message and an unknown version, in one line', () => {
  const whole = payload(records);
  const cases: [string, Uint8Array, RegExp][] = [
    ['skip 0', message(2, [[FRAME_RECORDS, 0, whole, 0]]), /0 records to skip of a frame of 300/],
    ['skip = count', message(2, [[FRAME_RECORDS, 0, whole, 300]]), /300 records to skip of a frame of 300/],
    ['skip 1.5', message(2, [[FRAME_RECORDS, 0, whole, 1.5]]), /1\.5 records to skip/],
    ['skip on a watermark', message(2, [[FRAME_WATERMARK, 0, new Uint8Array(8), 1]]), /a frame of type \d+ has records to skip/],
    ['skip in version 1', message(1, [[FRAME_RECORDS, 0, whole, 5]]), /bad frame/],
    ['garbage payload', message(2, [[FRAME_RECORDS, 0, new Uint8Array([0xc1, 0xc1]), 1]]), /records frame/],
    ['stamps missing', message(2, [[FRAME_RECORDS, RECORDS_FLAG_TIMESTAMPS, whole, 1]]), /not a batch of records/],
    ['version 3', message(3, []), /format version 3, this eddy reads 1 to 2/],
  ];
  for (const [what, bytes, why] of cases) {
    assert.throws(
      () => decodeChannelState(bytes, 'chk-7/count-0-channels.bin'),
      (err: unknown) => {
        assert.ok(err instanceof EddyError, what);
        assert.equal(err.code, 'CHECKPOINT_CORRUPT', what);
        assert.match(err.message, /^in-flight data chk-7\/count-0-channels\.bin is corrupt: /, what);
        assert.match(err.message, why, what);
        assert.ok(!err.message.includes('\n'), `${what}: one line`);
        return true;
      },
    );
  }
});
