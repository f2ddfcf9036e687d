/**
 * Incremental checkpoints: a delta of 1% changed keys (deletions included) over 200,000 keys
 * (two million, the size, with EDDY_SOAK=1) is at most 3% of a full snapshot's bytes, and base + deltas restore exactly the state a
 * test-kept Map says; pruning old checkpoints keeps every file a retained checkpoint's chain
 * still needs, and only those; a missing or damaged delta file is refused on resume with one
 * line naming operator and subtask, and no file changes.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CheckpointStorage, type CheckpointMetadata, type KeyedStateHandle } from '../../core/checkpoint/storage.js';
import { HeapKeyedStore } from '../../core/state/heap/heap-keyed-store.js';
import { keyGroupFor, keyGroupRange } from '../../core/state/key-groups.js';
import { ValueStateHandle } from '../../core/state/keyed-state.js';
import { LmdbKeyedStore } from '../../core/state/lmdb/lmdb-keyed-store.js';
import { restoreKeyedChains } from '../../core/state/snapshot.js';
import { runJob } from '../../core/index.js';
import type { EddyError } from '../../core/failure.js';
import { fixture } from '../helpers/paths.js';
import { compareWithFaultFree, readCommitted } from '../helpers/validating-output.js';

const root = mkdtempSync(join(tmpdir(), 'eddy-incremental-'));

/** Path → sha256 of every file under `dir`. */
function treeHashes(dir: string, into = new Map<string, string>()): Map<string, string> {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) treeHashes(p, into);
    else into.set(p, createHash('sha256').update(readFileSync(p)).digest('hex'));
  }
  return into;
}
after(() => rmSync(root, { recursive: true, force: true }));

const MAXP = 128;
const KEYS = process.env.EDDY_SOAK === '1' ? 2_000_000 : 200_000;
// 16 bytes of cache per key (32 MB at two million), so the same share of keys goes through
// eviction at either size.
const CACHE_BYTES = KEYS * 16;

describe('incremental checkpoints', () => {
  it(`${KEYS} keys, 1% changed: the delta is at most 3% of a full snapshot, and base + delta restore exactly`, async () => {
    const store = new LmdbKeyedStore({
      path: join(root, 'big'),
      rangeStart: 0,
      rangeEnd: MAXP - 1,
      cacheBytes: CACHE_BYTES,
      operatorUid: 'count',
      subtask: 0,
    });
    const log = store.trackChanges();
    const count = new ValueStateHandle<number>(store, store.register('count', 'value'));
    const model = new Map<number, number>();
    const set = (k: number, v: number | undefined) => {
      store.setCurrentKey(k, keyGroupFor(k, MAXP));
      count.update(v as number);
      if (v === undefined) model.delete(k);
      else model.set(k, v);
    };
    for (let k = 0; k < KEYS; k++) set(k, k * 3);
    log.cut(1);
    log.confirm(1);
    const full = await store.snapshot(1, undefined).run();
    // 1% changed: 0.8% updated, 0.1% deleted, 0.1% new keys.
    for (let i = 0; i < KEYS / 100; i++) {
      const k = (i * 7919) % KEYS;
      if (i % 10 === 0) set(k, undefined);
      else if (i % 10 === 1) set(KEYS + i, i);
      else set(k, -i);
    }
    const delta = await store.snapshot(2, log.cut(2)).run();
    const ratio = delta.data.byteLength / full.data.byteLength;
    console.log(`# full ${full.data.byteLength} bytes, delta ${delta.data.byteLength} bytes (${(ratio * 100).toFixed(2)}%)`);
    assert.ok(ratio <= 0.03, `delta is ${(ratio * 100).toFixed(2)}% of the full snapshot`);
    await store.dispose();

    // Restore at parallelism 2 into the heap backend and compare with the model.
    let restored = 0;
    for (let i = 0; i < 2; i++) {
      const r = keyGroupRange(i, MAXP, 2);
      const heap = new HeapKeyedStore(r.start, r.end);
      restoreKeyedChains(heap, [[full, delta]]);
      const t = heap.register('count', 'value');
      for (let kg = r.start; kg <= r.end; kg++) {
        for (const [k, v] of heap.keyGroupTable(t, kg)) {
          assert.equal(v, model.get(k as number), `key ${String(k)}`);
          restored++;
        }
      }
    }
    assert.equal(restored, model.size);
  });

  it('pruning keeps the files a retained checkpoint chain refers to, and drops them once no chain does', async () => {
    const storage = new CheckpointStorage(join(root, 'prune'));
    const enc = (s: string) => new TextEncoder().encode(s);
    const meta = (id: number, keyed: KeyedStateHandle): CheckpointMetadata => ({
      id,
      timestamp: id,
      durationMs: 1,
      kind: 'checkpoint',
      maxParallelism: MAXP,
      operators: [{ uid: 'count', parallelism: 1, subtasks: [{ subtask: 0, keyed }] }],
    });
    const baseFile = await storage.writeStateFile(1, 'count-0-keyed.bin', enc('base'));
    const base: KeyedStateHandle = { file: baseFile, keyGroups: { start: 0, end: MAXP - 1 }, index: [[0, 0, 4]] };
    await storage.commitMetadata(1, meta(1, base));
    let chain = base;
    for (let id = 2; id <= 5; id++) {
      const file = await storage.writeStateFile(id, 'count-0-keyed-delta.bin', enc(`delta ${id}`));
      chain = { ...chain, deltas: [...(chain.deltas ?? []), { file, index: [[0, 0, file.bytes]] }] };
      await storage.commitMetadata(id, meta(id, chain));
      await storage.prune(2);
    }
    // Checkpoints 4 and 5 remain; their chain needs chk-1..chk-5's keyed files.
    assert.deepEqual(
      (await storage.list()).map((e) => e.id),
      [5, 4],
    );
    for (const id of [1, 2, 3]) assert.ok(!existsSync(join(storage.checkpointDir(id), '_metadata')), `chk-${id} is no checkpoint any more`);
    for (const h of [baseFile, ...chain.deltas!.map((d) => d.file)]) assert.ok(existsSync(storage.pathOf(h)), `${h.file} is kept`);
    // Reading the chain back verifies every file.
    for (const h of [baseFile, ...chain.deltas!.map((d) => d.file)]) await storage.readStateFile(h);

    // A new full base: once checkpoints 4 and 5 are pruned too, the old chain's files go.
    for (let id = 6; id <= 7; id++) {
      const file = await storage.writeStateFile(id, 'count-0-keyed.bin', enc(`base ${id}`));
      await storage.commitMetadata(id, meta(id, { file, keyGroups: { start: 0, end: MAXP - 1 }, index: [[0, 0, file.bytes]] }));
      await storage.prune(2);
    }
    assert.deepEqual(
      (await storage.list()).map((e) => e.id),
      [7, 6],
    );
    for (const id of [1, 2, 3, 4, 5]) assert.ok(!existsSync(storage.checkpointDir(id)), `chk-${id} is gone`);
  });

  for (const stateBackend of ['heap', 'lmdb'] as const) {
    it(`${stateBackend} --incremental in a job: checkpoints are deltas on a base, a late failure restores base + deltas exactly`, async () => {
      const dir = join(root, `job-${stateBackend}`);
      const count = 2_000_000;
      const keys = 3000;
      const result = await runJob(fixture('validating.mjs'), {
        parallelism: 2,
        mode: 'exactly-once',
        // 200 ms: the ~1.5 s between the first completed checkpoint and the fault hold about
        // five more, so the restored one lies inside a chain (a base is compacted in after 8
        // deltas; at 50 ms the restore sometimes landed on a fresh base).
        checkpointIntervalMs: 200,
        restart: 'fixed:3:10',
        stateBackend,
        incremental: true,
        checkpointDir: join(dir, 'chk'),
        // Cache of 1 MB (6553 entries): LMDB evicts, so its environment is past every
        // checkpoint and the restore reads the chain instead of recovering locally.
        stateCacheMb: 1,
        // Rate-limited (2.5 s of input): the fault counts from the first completed checkpoint,
        // which must come well before the end however fast the machine is.
        args: { count: String(count), keys: String(keys), rate: '800000', output: join(dir, 'out'), faults: 'map@1200000' },
      });
      assert.equal(result.restarts, 1);
      assert.deepEqual(compareWithFaultFree(readCommitted(join(dir, 'out')), count, keys), { lost: 0, duplicated: 0, wrong: 0 });
      const chains = (result.stateRestores ?? []).map((r) => r.filesRead);
      if (stateBackend === 'heap')
        assert.ok(
          chains.some((n) => n > 1),
          `a restore read a base and its deltas (files read: ${chains.join(', ')})`,
        );
      // The retained checkpoints: some hold deltas, and every file they refer to is there.
      const storage = new CheckpointStorage(join(dir, 'chk'));
      const kept = await storage.list();
      assert.ok(kept.length > 0);
      let deltas = 0;
      for (const e of kept) {
        assert.equal(e.status, 'complete');
        if (e.status !== 'complete') continue;
        for (const op of e.metadata.operators) {
          for (const st of op.subtasks) {
            deltas += st.keyed?.deltas?.length ?? 0;
            for (const h of [st.keyed?.file, ...(st.keyed?.deltas ?? []).map((d) => d.file)]) if (h) await storage.readStateFile(h);
          }
        }
      }
      assert.ok(deltas > 0, 'retained checkpoints refer to deltas');

      // A missing or damaged delta file of the newest checkpoint: resuming refuses with one
      // error naming the operator, the subtask and the file, and changes no file.
      const newest = kept.find(
        (e) => e.status === 'complete' && e.metadata.operators.some((o) => o.subtasks.some((st) => (st.keyed?.deltas?.length ?? 0) > 0)),
      );
      if (newest === undefined || newest.status !== 'complete' || newest.id !== kept[0].id) {
        console.log('# the newest checkpoint is a fresh base: no delta to damage');
        return;
      }
      const op = newest.metadata.operators.find((o) => o.subtasks.some((st) => (st.keyed?.deltas?.length ?? 0) > 0))!;
      const st = op.subtasks.find((x) => (x.keyed?.deltas?.length ?? 0) > 0)!;
      const file = storage.pathOf(st.keyed!.deltas!.at(-1)!.file);
      console.log(`# damaging ${file}`);
      const before = treeHashes(join(dir, 'chk'));
      const original = readFileSync(file);
      const resume = () =>
        runJob(fixture('validating.mjs'), {
          parallelism: 2,
          mode: 'exactly-once',
          checkpointIntervalMs: 200,
          stateBackend,
          incremental: true,
          stateCacheMb: 1,
          checkpointDir: join(dir, 'chk'),
          resume: 'latest',
          args: { count: String(count), keys: String(keys), output: join(dir, 'out-resumed') },
        });
      for (const damage of ['missing', 'flipped'] as const) {
        if (damage === 'missing') renameSync(file, `${file}.away`);
        else writeFileSync(file, Buffer.from(original.map((b, i) => (i === original.length >> 1 ? b ^ 0x40 : b))));
        await assert.rejects(resume(), (err: EddyError) => {
          assert.equal(err.code, 'CHECKPOINT_CORRUPT');
          assert.equal(err.operatorUid, op.uid);
          assert.equal(err.subtask, st.subtask);
          assert.match(
            err.message,
            new RegExp(
              `^keyed state delta \\d+ of \\d+ of operator '${op.uid}' subtask ${st.subtask}: state file .* is ${damage === 'missing' ? 'missing' : 'corrupt'}`,
            ),
          );
          assert.ok(!err.message.includes('\n'), 'one line');
          return true;
        });
        if (damage === 'missing') renameSync(`${file}.away`, file);
        else writeFileSync(file, original);
      }
      assert.deepEqual(treeHashes(join(dir, 'chk')), before, 'no checkpoint file changed');
    });
  }
});
