// The heap write log (core/state/heap/write-log.ts): numbers logged, not marked, per
// generation; past its bound a generation folds into the Set log, every write so far and after.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HeapChangeLog } from '../../core/state/heap/write-log.js';

/** (table, group, key) of every logged write in the last cut, in order. */
const logged = (log: HeapChangeLog) => log.lastCut!.chunks.flatMap((c) => Array.from({ length: c.length }, (_, i) => [c.tables[i], c.groups[i], c.keys[i], c.values[i]]));

describe('heap write log', () => {
  it('keeps every write of the generations not yet confirmed, oldest first, and drops confirmed ones', () => {
    const log = new HeapChangeLog(4, () => 0);
    log.log(0, 1, 10, 1.5);
    log.log(1, 3, 11, 2);
    log.cut(1);
    assert.deepEqual(logged(log), [[0, 1, 10, 1.5], [1, 3, 11, 2]]);
    log.log(0, 1, 10, 7);
    log.cut(2); // checkpoint 1 not confirmed: its writes ride along
    assert.deepEqual(logged(log), [[0, 1, 10, 1.5], [1, 3, 11, 2], [0, 1, 10, 7]]);
    log.confirm(2);
    log.log(0, 2, 12, 3);
    log.cut(3);
    assert.deepEqual(logged(log), [[0, 2, 12, 3]]);
  });

  it('past its bound folds the generation into the Set log, and marks every later write', () => {
    const log = new HeapChangeLog(2, () => 0, 1);
    // The bound is checked per chunk of 65,536 writes: the second chunk folds.
    const n = 65_536 + 10;
    for (let i = 0; i < n; i++) log.log(i % 2, i % 2, i, i * 2);
    const changed = log.cut(1);
    assert.deepEqual(logged(log), []);
    assert.equal((changed[0][0]?.size ?? 0) + (changed[1][1]?.size ?? 0), n);
    assert.ok(changed[0][0]!.has(0) && changed[1][1]!.has(n - 1));
    // The next generation logs again.
    log.log(0, 0, 5, 1);
    log.cut(2);
    assert.deepEqual(logged(log), [[0, 0, 5, 1]]);
  });
});
