/**
 * Local recovery (opt-in: `localRecovery`, `--local-recovery`): a task restarted in this process
 * whose LMDB environment is exactly at the restored checkpoint reopens it and reads no keyed state file from checkpoint storage; one
 * whose environment moved past the checkpoint (or the heap backend) reads the checkpoint back.
 * Either way the committed output is exactly the fault-free one.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runJob } from '../../core/index.js';
import { keyGroupFor } from '../../core/state/key-groups.js';
import { ValueStateHandle } from '../../core/state/keyed-state.js';
import { LmdbKeyedStore } from '../../core/state/lmdb/lmdb-keyed-store.js';
import { fixture } from '../helpers/paths.js';
import { compareWithFaultFree, readCommitted } from '../helpers/validating-output.js';

const root = mkdtempSync(join(tmpdir(), 'eddy-local-recovery-'));
after(() => rmSync(root, { recursive: true, force: true }));

const COUNT = 2_000_000;
const KEYS = 3000;

async function run(stateBackend: 'heap' | 'lmdb', name: string) {
  const dir = join(root, name);
  const result = await runJob(fixture('validating.mjs'), {
    parallelism: 2,
    mode: 'exactly-once',
    restart: 'fixed:10:10',
    stateBackend,
    localRecovery: true,
    localDir: root,
    // Local recovery needs the environment exactly at the restored checkpoint, so each fault
    // must come after a checkpoint completed and before the next barrier reaches the keyed
    // operator (which flushes there): `at-checkpoint` holds the fault back while a barrier has
    // passed whose checkpoint has not completed. A count of records alone did not: under load
    // the 50 ms of records after a completion took longer than the 150 ms pause to the next
    // barrier, and a restarted attempt's first checkpoint, triggered while it deployed, was
    // still completing when it failed (the environment past the checkpoint restored from; the
    // engine then rightly reads the checkpoint back). Attempt 0 fails 5000 records after its
    // 2nd completed checkpoint (the 1st may hold no keyed state: it can complete before a
    // record arrived), attempt 1 5000 records after its restore. The input (2 s) outlasts both.
    checkpointIntervalMs: 300,
    args: {
      count: String(COUNT),
      keys: String(KEYS),
      rate: '1000000',
      output: join(dir, 'out'),
      faults: 'map@5000,exit@5000',
      'arm-after': '2',
      'at-checkpoint': '1',
    },
  });
  return { result, out: readCommitted(join(dir, 'out')) };
}

describe('local recovery', () => {
  it('lmdb: restarted tasks reopen their environment and read no keyed state file', async () => {
    const { result, out } = await run('lmdb', 'lmdb');
    assert.equal(result.restarts, 2);
    const restores = result.stateRestores ?? [];
    assert.equal(restores.length, 4, 'two subtasks restored twice');
    for (const r of restores)
      assert.deepEqual({ local: r.local, filesRead: r.filesRead }, { local: true, filesRead: 0 }, JSON.stringify(r));
    assert.deepEqual(compareWithFaultFree(out, COUNT, KEYS), { lost: 0, duplicated: 0, wrong: 0 });
  });

  it('heap: the same job reads the checkpoint back', async () => {
    const { result, out } = await run('heap', 'heap');
    const restores = result.stateRestores ?? [];
    assert.equal(restores.length, 4);
    for (const r of restores) assert.ok(!r.local && r.filesRead >= 1, JSON.stringify(r));
    assert.deepEqual(compareWithFaultFree(out, COUNT, KEYS), { lost: 0, duplicated: 0, wrong: 0 });
  });

  it('an environment that moved past the checkpoint is not reused, one exactly at it is', async () => {
    const open = (resumeAt?: number) =>
      new LmdbKeyedStore({
        path: join(root, 'env'),
        rangeStart: 0,
        rangeEnd: 127,
        cacheBytes: 64 * 160,
        operatorUid: 'sum',
        subtask: 0,
        localRecovery: true,
        resumeAt,
      });
    const write = async (s: LmdbKeyedStore, from: number, to: number, v: (k: number) => number) => {
      const h = new ValueStateHandle<number>(s, s.register('sum', 'value'));
      for (let k = from; k < to; k++) {
        s.setCurrentKey(k, keyGroupFor(k, 128));
        h.update(v(k));
        // As the run loop does: background write-backs commit while it runs.
        if (k % 50 === 0) await new Promise((res) => setTimeout(res, 1));
      }
      return h;
    };
    const read = (s: LmdbKeyedStore, n: number) => {
      const h = new ValueStateHandle<number>(s, s.register('sum', 'value'));
      const out: (number | undefined)[] = [];
      for (let k = 0; k < n; k++) {
        s.setCurrentKey(k, keyGroupFor(k, 128));
        out.push(h.value());
      }
      return out;
    };
    let s = open();
    await write(s, 0, 50, (k) => k);
    await s.snapshot(7, undefined).run(); // the barrier of checkpoint 7 flushes the cache
    await write(s, 0, 50, (k) => -k); // after the barrier, held in the cache only (50 < 64 entries)
    await s.dispose();
    s = open(7);
    assert.equal(s.recoveredLocally, true);
    assert.deepEqual(
      read(s, 50),
      Array.from({ length: 50 }, (_, k) => k),
      'exactly the state at checkpoint 7',
    );
    // More than the cache holds: a background write-back takes the environment past checkpoint 7.
    // (Not asserted by evictions: under load lmdb-js may not commit that write-back during the
    // loop's short pauses, and until it does the cache waits over its budget, evicting nothing.)
    await write(s, 0, 500, (k) => k + 1);
    await s.writeBacksSettled();
    assert.ok(s.flushes > 0, 'a write-back after checkpoint 7');
    await s.dispose();
    s = open(7);
    assert.equal(s.recoveredLocally, false);
    assert.deepEqual(read(s, 3), [undefined, undefined, undefined], 'not reused: emptied for a restore from storage');
    await s.dispose();
  });
});
