/**
 * The armed trigger: a periodic checkpoint is left at the sources ahead of its due time and each
 * source takes it itself when due, so the main thread is off the trigger's path.
 *
 * - The cell: nothing before it is armed or before it is due, exactly once when due, never after
 *   a withdrawal; arming rings the gate.
 * - With the coordinator's real timing and a source thread waiting as the run loop waits: the
 *   main thread is blocked (a synchronous loop) from the arming until 250 ms past the due
 *   time, and the source still takes every checkpoint before the main thread is back. Posted by
 *   the main thread at the due time (as before), a trigger could only come after.
 * - The drain's wait for ring space: a ring of the gate after the caller's last check (a
 *   command posted just then) ends the wait at once.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { ArmedTrigger, TriggerCell, type TakenTrigger } from '../../core/checkpoint/armed-trigger.js';
import { CheckpointCoordinator, type CoordinatorHost } from '../../core/checkpoint/coordinator.js';
import { createGate } from '../../core/channel/gate.js';
import { BARRIER_FLAG_UNALIGNED, GATE_SEQ } from '../../core/channel/layout.js';
import { RingProducer, createRing, ringGate } from '../../core/channel/ring.js';
import { wallNow } from '../../core/channel/time-account.js';
import type { ArmedSourceData, Taken } from './fixtures/armed-source.js';

test('the armed trigger is taken once, only when due, never after a withdrawal; arming rings the gate', () => {
  const gate = createGate();
  const cell = new TriggerCell(gate);
  const armed = new ArmedTrigger(gate);
  const out: TakenTrigger = { id: 0, flags: 0, dueAt: 0 };
  assert.equal(armed.nextDue, Infinity);
  assert.equal(armed.takeDue(Infinity, out), false, 'nothing armed yet');

  const seq = Atomics.load(new Int32Array(gate), GATE_SEQ);
  cell.arm(7, BARRIER_FLAG_UNALIGNED, 1000.5);
  assert.equal(Atomics.load(new Int32Array(gate), GATE_SEQ), seq + 1, 'arming rings the gate');
  assert.equal(armed.nextDue, 1000.5);
  assert.equal(armed.takeDue(1000.4, out), false, 'not before it is due');
  assert.equal(armed.takeDue(1000.5, out), true);
  assert.deepEqual(out, { id: 7, flags: BARRIER_FLAG_UNALIGNED, dueAt: 1000.5 });
  assert.equal(armed.takeDue(5000, out), false, 'taken once');
  assert.equal(armed.nextDue, Infinity);

  cell.arm(8, 0, 2000);
  cell.withdraw();
  assert.equal(armed.nextDue, Infinity);
  assert.equal(armed.takeDue(Infinity, out), false, 'withdrawn: never taken');
  cell.arm(9, 0, 3000);
  assert.equal(armed.takeDue(3000, out), true);
  assert.equal(out.id, 9);
});

test(
  'a source takes each periodic checkpoint at its due time while the main thread is blocked across it',
  { timeout: 30_000 },
  async () => {
    const gate = createGate();
    const takes = 4;
    const source = new Worker(new URL('./fixtures/armed-source.js', import.meta.url), {
      workerData: { gate, takes } satisfies ArmedSourceData,
    });
    const cell = new TriggerCell(gate);
    const blockedUntil = new Map<number, number>();
    const BLOCK_PAST_DUE_MS = 250;
    const host: CoordinatorHost = {
      trigger: () => assert.fail('a periodic checkpoint must be armed, not posted'),
      arm: (id, dueAt, unaligned) => {
        cell.arm(id, unaligned ? BARRIER_FLAG_UNALIGNED : 0, dueAt);
        // The main thread goes busy right after arming and stays so well past the due time.
        setImmediate(() => {
          const until = dueAt + BLOCK_PAST_DUE_MS;
          while (wallNow() < until);
          blockedUntil.set(id, wallNow());
        });
      },
      persist: async () => {},
      persistSavepoint: async () => '',
      notifyComplete: () => {},
      notifyAborted: (d) => assert.fail(`checkpoint ${d.id} aborted: ${d.message}`),
      failJob: (reason) => assert.fail(reason),
    };
    const coordinator = new CheckpointCoordinator(
      {
        intervalMs: 100,
        timeoutMs: 10_000,
        minPauseMs: 50,
        tolerableFailures: 0,
        taskCount: 1,
        maxParallelism: 128,
        firstId: 1,
        unaligned: true,
      },
      host,
    );
    const taken: Taken[] = [];
    const allTaken = new Promise<void>((resolve, reject) => {
      source.on('message', (t: Taken) => {
        taken.push(t);
        coordinator.onAck(0, t.id, []);
        if (taken.length === takes) resolve();
      });
      source.once('error', reject);
    });
    coordinator.start();
    await allTaken;
    coordinator.stop();
    await source.terminate();

    assert.deepEqual(
      taken.map((t) => t.id),
      [1, 2, 3, 4],
    );
    for (const t of taken) {
      assert.equal(t.unaligned, true);
      assert.ok(t.takenAt >= t.dueAt, `checkpoint ${t.id} taken before it was due`);
      const back = blockedUntil.get(t.id);
      assert.ok(back !== undefined, `the main thread was blocked across checkpoint ${t.id}`);
      assert.ok(
        t.takenAt < back,
        `checkpoint ${t.id} taken ${(t.takenAt - t.dueAt).toFixed(1)} ms after due, after the main thread was back (${(back - t.dueAt).toFixed(1)} ms)`,
      );
    }
    const late = taken.map((t) => (t.takenAt - t.dueAt).toFixed(2)).join(', ');
    console.log(`# taken after due (ms): ${late}; main thread blocked until ${BLOCK_PAST_DUE_MS} ms past due`);
    assert.deepEqual(
      coordinator.stats.map((s) => s.legs?.timerLateMs),
      [0, 0, 0, 0],
      'every checkpoint armed ahead of its due time',
    );
  },
);

test(
  "a drain's wait ends at once on a ring after the caller's last check (the sequence is read before it)",
  { timeout: 10_000 },
  async () => {
    const ring = createRing(4096);
    const taskGate = new Int32Array(createGate());
    const producer = new RingProducer(ring, createGate());
    while (producer.tryWrite(1, 0, new Uint8Array(512)));
    const seq = Atomics.load(taskGate, GATE_SEQ);
    // A command arrives between the caller's check and its wait: posted, and the gate rung.
    ringGate(taskGate);
    const started = performance.now();
    await producer.waitForSpaceOrWake(512, taskGate, seq, 5000);
    const waited = performance.now() - started;
    assert.ok(waited < 1000, `waited ${waited.toFixed(0)} ms for a ring that came before the wait`);
  },
);
