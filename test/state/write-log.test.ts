// test-lane: pair
// The heap write log (core/state/heap/write-log.ts): numbers logged, not marked, per
// generation; past its bound a generation stops logging and the next checkpoint is full.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DedupedLog } from '../../core/state/heap/log-dedup.js';
import { HeapChangeLog, holdChunks, letGoChunks } from '../../core/state/heap/write-log.js';

/** (table, group, key) of every logged write in the last cut, in order. */
const logged = (log: HeapChangeLog) =>
  log.lastCut!.chunks.flatMap((c) => Array.from({ length: c.length }, (_, i) => [c.tables[i], c.groups[i], c.keys[i], c.values[i]]));

describe('heap write log', () => {
  it('keeps every write of the generations not yet confirmed, oldest first, and drops confirmed ones', () => {
    const log = new HeapChangeLog(4, () => 0);
    log.log(0, 1, 10, 1.5);
    log.log(1, 3, 11, 2);
    log.cut(1);
    assert.deepEqual(logged(log), [
      [0, 1, 10, 1.5],
      [1, 3, 11, 2],
    ]);
    log.log(0, 1, 10, 7);
    log.cut(2); // checkpoint 1 not confirmed: its writes ride along
    assert.deepEqual(logged(log), [
      [0, 1, 10, 1.5],
      [1, 3, 11, 2],
      [0, 1, 10, 7],
    ]);
    log.confirm(2);
    log.log(0, 2, 12, 3);
    log.cut(3);
    assert.deepEqual(logged(log), [[0, 2, 12, 3]]);
  });

  it("reuses a confirmed generation's chunk only once no packer job reads it any more", () => {
    // The packer reads the chunks where they are (shared memory): a later delta holds every
    // unconfirmed generation, so generation 1 may be confirmed while that job still reads it.
    const log = new HeapChangeLog(4, () => 0);
    log.log(0, 1, 10, 1.5);
    log.cut(1);
    log.log(0, 2, 11, 2);
    log.cut(2);
    const job2 = log.lastCut!.chunks; // generations 1 and 2
    holdChunks(job2);
    const before = logged(log);
    log.confirm(1);
    log.log(1, 3, 99, 9);
    log.cut(3);
    const third = log.lastCut!.chunks;
    assert.ok(!third.includes(job2[0]), 'a chunk a packer job reads is not handed out again');
    assert.deepEqual(
      job2.flatMap((c) => Array.from({ length: c.length }, (_, i) => [c.tables[i], c.groups[i], c.keys[i], c.values[i]])),
      before,
    );
    letGoChunks(job2); // generation 1's chunk is free now; generation 2's is not confirmed yet
    log.log(0, 0, 1, 1);
    log.cut(4);
    assert.equal(log.lastCut!.chunks.at(-1), job2[0], 'and is reused once the job let go of it');
  });

  it('past its bound stops logging and asks for a full snapshot until that generation is confirmed', () => {
    const log = new HeapChangeLog(2, () => 0, 1);
    // The bound is checked per chunk of 65,536 writes: the second chunk overflows.
    for (let i = 0; i < 65_536 + 10; i++) log.log(i % 2, i % 2, i, i * 2);
    log.mark(0, 1, 'x');
    assert.equal(log.cut(1), undefined, 'an overflowed generation gives no delta');
    assert.deepEqual(logged(log), []);
    // Checkpoint 1 not confirmed: the next cut still holds the overflowed generation.
    log.log(0, 0, 5, 1);
    assert.equal(log.cut(2), undefined);
    log.confirm(2);
    log.log(0, 0, 6, 2);
    log.mark(1, 1, 'y');
    const changed = log.cut(3);
    assert.ok(changed !== undefined);
    assert.deepEqual([...(changed[1][1] ?? [])], ['y'], 'the Set marks of confirmed generations are gone');
    assert.deepEqual(logged(log), [[0, 0, 6, 2]]);
  });

  it('bounds a generation by half the entries, counted as it grows', () => {
    let entries = 0;
    const log = new HeapChangeLog(1, () => entries, 1);
    for (let i = 0; i < 3 * 65_536; i++) log.log(0, 0, i, 1);
    assert.equal(log.cut(1), undefined, 'no entries: 3 chunks pass a bound of 1');
    log.confirm(1);
    entries = 8 * 65_536;
    for (let i = 0; i < 3 * 65_536; i++) log.log(0, 0, i, 1);
    assert.ok(log.cut(2) !== undefined, '3 chunks are within half of 8 chunks of entries');
    assert.equal(logged(log).length, 3 * 65_536);
  });

  it('deduplicated keeps the last write of every (table, group, key), as a Map per group and table would', () => {
    const log = new HeapChangeLog(64, () => 1e9);
    const reference = new Map<string, number>();
    let seed = 7;
    const rand = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 16) % n;
    const specials = [0, -0, NaN, -1, 1.5, 2 ** 40];
    // Three chunks and more, few keys: most writes overwrite an earlier one.
    for (let i = 0; i < 200_000; i++) {
      const t = rand(3);
      const g = rand(64);
      const k = rand(10) === 0 ? specials[rand(specials.length)] : rand(500);
      const v = i;
      log.log(t, g, k, v);
      // Map keys are SameValueZero: -0 is 0, NaN is NaN.
      reference.set(`${t}/${g}/${Object.is(k, -0) ? 0 : k}`, v);
    }
    log.cut(1);
    const d = new DedupedLog(log.lastCut!.chunks);
    const seen = new Map<string, number>();
    for (let g = 0; g < 64; g++) {
      d.forEach(g, (t, k, v) => {
        const id = `${t}/${g}/${Object.is(k, -0) ? 0 : k}`;
        assert.ok(!seen.has(id), `${id} twice`);
        seen.set(id, v);
      });
    }
    assert.deepEqual(new Map([...seen].sort()), new Map([...reference].sort()));
  });
});
