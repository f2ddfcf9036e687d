// test-lane: pair
// Each restart strategy's decisions for a scripted sequence of failure times, against values
// worked out by hand (the clock and the jitter's random source are injected).
import test, { describe } from 'node:test';
import assert from 'node:assert/strict';
import { parseRestartSpec } from '../../core/runtime/option-values.js';
import {
  EXPONENTIAL_RESET_MS,
  FAILURE_RATE_DELAY_MS,
  createRestartStrategy,
  type RestartDecision,
} from '../../core/runtime/restart-strategy.js';

const strategy = (raw: string, random?: () => number) => createRestartStrategy(parseRestartSpec('--restart', raw), { random });
const restart = (delayMs: number): RestartDecision => ({ restart: true, delayMs });

describe('restart strategies', () => {
  test('none never restarts', () => {
    const s = strategy('none');
    assert.equal(s.description, 'none');
    assert.deepEqual(s.onFailure(0), { restart: false, reason: 'restart strategy none exhausted after 0 restarts' });
  });

  test('fixed restarts ATTEMPTS times with its delay, then gives up', () => {
    const s = strategy('fixed:3:100');
    assert.deepEqual(
      [0, 5, 10_000].map((t) => s.onFailure(t)),
      [restart(100), restart(100), restart(100)],
    );
    const stop = { restart: false, reason: 'restart strategy fixed:3:100 exhausted after 3 restarts' };
    assert.deepEqual(s.onFailure(20_000), stop);
    assert.deepEqual(s.onFailure(30_000), stop);
  });

  test('fixed with 0 attempts never restarts', () => {
    assert.deepEqual(strategy('fixed:0:50').onFailure(0), {
      restart: false,
      reason: 'restart strategy fixed:0:50 exhausted after 0 restarts',
    });
  });

  test('failure-rate allows N failures within the window and stops at N + 1', () => {
    const s = strategy('failure-rate:2:1000');
    assert.equal(s.description, 'failure-rate:2:1000');
    const ok = restart(FAILURE_RATE_DELAY_MS);
    assert.deepEqual(s.onFailure(0), ok); // window holds {0}
    assert.deepEqual(s.onFailure(600), ok); // {0, 600}
    assert.deepEqual(s.onFailure(1001), ok); // 0 is 1001 ms old, out: {600, 1001}
    assert.deepEqual(s.onFailure(1600), {
      // 600 is exactly 1000 ms old: still in the window, {600, 1001, 1600}
      restart: false,
      reason: 'restart strategy failure-rate:2:1000 exhausted: 3 failures within 1000 ms (at most 2 allowed)',
    });
  });

  test('failure-rate forgets failures that left the window', () => {
    const s = strategy('failure-rate:1:100');
    for (let t = 0; t < 1000; t += 101) assert.deepEqual(s.onFailure(t), restart(FAILURE_RATE_DELAY_MS), `failure at ${t}`);
    assert.equal(s.onFailure(1000).restart, false); // 909 and 1000 are 91 ms apart
  });

  test('exponential doubles from 100 ms up to 10 s with ±10% jitter', () => {
    // random 0.5 is no jitter, 0 is -10%, just under 1 is +10%.
    const randoms = [0.5, 0, 0.999999, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.25];
    const s = strategy('exponential', () => randoms.shift()!);
    const delays: number[] = [];
    for (let failures = randoms.length, t = 0; failures > 0; failures--, t += 1000) {
      const d = s.onFailure(t);
      assert.equal(d.restart, true);
      if (d.restart) delays.push(d.delayMs);
    }
    // bases 100 200 400 800 1600 3200 6400 10000 10000 10000
    assert.deepEqual(delays, [100, 180, 440, 800, 1600, 3200, 6400, 10_000, 10_000, 9500]);
  });

  test('exponential starts over after a healthy period counted from the end of the last delay', () => {
    const s = strategy('exponential', () => 0.5);
    assert.deepEqual(s.onFailure(0), restart(100)); // running again at 100
    assert.deepEqual(s.onFailure(1000), restart(200)); // running again at 1200
    // 1200 + 60 s - 1: not yet healthy for a full reset period.
    assert.deepEqual(s.onFailure(1200 + EXPONENTIAL_RESET_MS - 1), restart(400)); // running again at 61599
    assert.deepEqual(s.onFailure(61_599 + EXPONENTIAL_RESET_MS), restart(100));
    assert.deepEqual(s.onFailure(200_000), restart(100));
  });

  test('exponential never gives up', () => {
    const s = strategy('exponential', () => 0.5);
    for (let i = 0; i < 1000; i++) assert.equal(s.onFailure(i).restart, true);
  });
});
