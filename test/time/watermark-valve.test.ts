// test-lane: pair
// The input watermark valve and the timer heap, as pure logic: the valve's output is checked
// against the minimum over active channels computed here for random event sequences; the
// heap pops in time order whatever the push order.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rescaledValve, WatermarkValve } from '../../core/time/watermark-valve.js';
import { TimerHeap } from '../../core/time/timer-heap.js';
import { prng } from '../helpers/prng.js';

describe('watermark valve', () => {
  it('emits the minimum over non-idle, non-ended channels, only when it advances, and idle when all are idle', () => {
    for (let seed = 1; seed <= 50; seed++) {
      const r = prng(seed);
      const n = 1 + Math.floor(r() * 4);
      const valve = new WatermarkValve(n);
      const wm = new Array<number>(n).fill(-Infinity);
      const idle = new Array<boolean>(n).fill(false);
      const ended = new Array<boolean>(n).fill(false);
      let last = -Infinity;
      let allIdle = false;
      for (let step = 0; step < 200; step++) {
        const i = Math.floor(r() * n);
        if (ended[i]) continue;
        let got;
        const u = r();
        if (u < 0.02) {
          ended[i] = true;
          got = valve.onEnded(i);
        } else {
          const goIdle = u < 0.15;
          wm[i] = Math.max(wm[i], Math.floor(r() * 1000) + step * 10);
          idle[i] = goIdle;
          got = valve.onWatermark(i, wm[i], goIdle);
        }
        const open = [...Array(n).keys()].filter((k) => !ended[k]);
        const active = open.filter((k) => !idle[k]);
        let want: number | 'idle' | undefined;
        if (open.length > 0 && active.length === 0) want = allIdle ? undefined : 'idle';
        else if (open.length === 0) want = undefined;
        else {
          const min = Math.min(...active.map((k) => wm[k]));
          want = min > last ? min : allIdle ? last : undefined;
        }
        assert.equal(got, want, `seed ${seed} step ${step}`);
        if (typeof want === 'number') last = Math.max(last, want);
        if (open.length > 0) allIdle = active.length === 0;
      }
    }
  });
});

describe('timer heap', () => {
  it('pops timers in time order', () => {
    const r = prng(7);
    const h = new TimerHeap();
    const times: number[] = [];
    for (let k = 0; k < 1000; k++) {
      const t = Math.floor(r() * 500);
      times.push(t);
      h.push({ time: t, key: k, keyGroup: 0, namespace: null });
    }
    const popped: number[] = [];
    while (h.size > 0) popped.push(h.pop()!.time);
    assert.deepEqual(
      popped,
      times.sort((a, b) => a - b),
    );
    assert.equal(h.peekTime(), Infinity);
  });
});

it('a restored valve continues exactly where the snapshot was: no watermark goes back, per-channel minimum kept', () => {
  const a = new WatermarkValve(3);
  a.onWatermark(0, 50, false);
  a.onWatermark(1, 70, false);
  a.onWatermark(2, 40, true); // idle
  assert.equal(a.current, 50);
  const b = new WatermarkValve(3);
  b.restore(a.snapshot());
  assert.equal(b.current, 50);
  // A replayed watermark below the restored one changes nothing.
  assert.equal(b.onWatermark(0, 45, false), undefined);
  // Channel 2 is still idle after the restore: channel 1 alone holds the minimum once 0 passes it.
  assert.equal(b.onWatermark(0, 90, false), 70);
  assert.throws(() => new WatermarkValve(2).restore(a.snapshot()), RangeError);
});

it('after a rescale a valve starts, on every new channel, at the lowest watermark of the old valves it continues', () => {
  const old = [
    [50, 70],
    [30, 90],
    [60, 65],
  ].map(([x, y]) => {
    const v = new WatermarkValve(2);
    v.onWatermark(0, x, false);
    v.onWatermark(1, y, false);
    return v.snapshot();
  });
  const state = rescaledValve(old, 4)!;
  assert.deepEqual(state, { wm: [30, 30, 30, 30], idle: [0, 0, 0, 0], ended: [0, 0, 0, 0], last: 30 });
  const b = new WatermarkValve(4);
  b.restore(state);
  // New channels' watermarks below it change nothing; it advances only once all four pass it.
  assert.equal(b.onWatermark(0, 20, false), undefined);
  for (const i of [0, 1, 2]) assert.equal(b.onWatermark(i, 40, false), undefined);
  assert.equal(b.onWatermark(3, 35, false), 35);
  // One old subtask's valve unknown (it stored no in-flight data), or no watermark yet: start at −∞.
  assert.equal(rescaledValve([old[0], undefined], 2), undefined);
  assert.equal(rescaledValve([new WatermarkValve(1).snapshot(), old[1]], 2), undefined);
});
