// test-lane: pair
// The mode-against-mode CPU probe (bench/mode-cpu.ts): /proc texts parsed, threads summed into
// their groups, runs paired by round. Expectations are worked out by hand from the inputs; the
// last test reads real counters of a worker thread that sleeps a known number of times.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { formatSummary, groupCounters, modeLabels, pairedRatios, RUNTIME_GROUP, type ModeRun } from '../../bench/mode-cpu.js';
import { countersBetween, parseContextSwitches, parseStatCpuMs, threadCountersNow } from '../../bench/thread-cpu.js';
import type { ThreadRole } from '../../core/thread-roles.js';

describe('thread counters from /proc texts', () => {
  it('reads utime + stime after a command name holding spaces and a parenthesis', () => {
    // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime …
    const stat = '4242 (node (a) b) S 1 2 3 4 5 6 7 8 9 10 123 45 0 0 20 0 1';
    assert.equal(parseStatCpuMs(stat), (123 + 45) * 10);
  });

  it('reads both context-switch counts, not one for the other', () => {
    const status = 'Name:\tnode\nState:\tS (sleeping)\nvoluntary_ctxt_switches:\t812\nnonvoluntary_ctxt_switches:\t97\n';
    assert.deepEqual(parseContextSwitches(status), { voluntary: 812, involuntary: 97 });
  });
});

describe('groupCounters', () => {
  it("sums a vertex's subtasks, keeps main, packers and the runtime's threads apart, and drops idle threads", () => {
    const roles = new Map<number, ThreadRole>([
      [11, { tid: 11, role: 'task', name: 'source -> map#0' }],
      [12, { tid: 12, role: 'task', name: 'source -> map#1' }],
      [13, { tid: 13, role: 'task', name: 'count#10', keyed: true }],
      [14, { tid: 14, role: 'packer', name: '13' }],
    ]);
    const c = (cpuMs: number, voluntary: number, involuntary: number) => ({ cpuMs, voluntary, involuntary });
    const counters = new Map([
      [1, c(30, 5, 1)],
      [11, c(400, 10, 50)],
      [12, c(380, 12, 40)],
      [13, c(200, 900, 20)],
      [14, c(20, 3, 0)],
      [20, c(60, 100, 7)],
      [21, c(0, 0, 0)],
    ]);
    assert.deepEqual(groupCounters(counters, roles, 1), {
      main: c(30, 5, 1),
      'task source -> map': c(780, 22, 90),
      'task count': c(200, 900, 20),
      packers: c(20, 3, 0),
      [RUNTIME_GROUP]: c(60, 100, 7),
    });
  });
});

describe('paired runs', () => {
  const run = (label: string, round: number, cpuMs: number): ModeRun => ({
    label,
    round,
    wallMs: 1000,
    cpuMs,
    events: 1_000_000,
    checkpoints: 0,
    groups: { 'task q': { cpuMs, voluntary: 0, involuntary: 0 } },
  });

  it('labels a repeated mode apart', () => {
    assert.deepEqual(modeLabels(['none', 'none', 'at-least-once', 'none']), ['none', 'none (2)', 'at-least-once', 'none (3)']);
  });

  it('pairs runs of the same round and skips a round with one side missing', () => {
    const runs = [
      run('none', 0, 1000),
      run('at-least-once', 0, 1100),
      run('at-least-once', 1, 900),
      run('none', 1, 1000),
      run('none', 2, 1000),
    ];
    assert.deepEqual(
      pairedRatios(runs, 'none', 'at-least-once', (r) => r.cpuMs),
      [1.1, 0.9],
    );
  });

  it('summarises each mode against the first as the median of per-round ratios', () => {
    // Ratios 1.2, 0.9, 1.05: median 1.05, not the ratio of the medians (1050 / 1000).
    const runs = [
      run('none', 0, 1000),
      run('at-least-once', 0, 1200),
      run('none', 1, 1000),
      run('at-least-once', 1, 900),
      run('none', 2, 1200),
      run('at-least-once', 2, 1260),
    ];
    const text = formatSummary(runs, ['none', 'at-least-once']);
    assert.match(text, /process CPU 105\.0 % \(90\.0–120\.0\)/);
    assert.match(text, /none {15}process 1000 ms/);
  });
});

describe('threadCountersNow', () => {
  it("counts a worker's sleeps as voluntary context switches", async () => {
    const SLEEPS = 20;
    const before = threadCountersNow();
    assert.ok(before.has(process.pid), 'the main thread is listed under the process id');
    // The worker reports its OS thread id, then blocks SLEEPS times on a word nobody writes.
    const worker = new Worker(
      `const { parentPort } = require('node:worker_threads');
       const { readlinkSync } = require('node:fs');
       parentPort.once('message', () => {
         const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
         const word = new Int32Array(new SharedArrayBuffer(4));
         for (let i = 0; i < ${SLEEPS}; i++) Atomics.wait(word, 0, 0, 2);
         parentPort.postMessage(tid);
         setInterval(() => {}, 1000);
       });`,
      { eval: true },
    );
    try {
      const tid = await new Promise<number>((resolve) => {
        worker.once('message', resolve);
        worker.postMessage('go');
      });
      const d = countersBetween(before, threadCountersNow()).get(tid);
      assert.ok(d !== undefined, `thread ${tid} is listed`);
      assert.ok(d.voluntary >= SLEEPS, `${SLEEPS} sleeps, ${d.voluntary} voluntary switches counted`);
    } finally {
      await worker.terminate();
    }
  });
});
