// Broadcast state: rules sent to every subtask of a keyed stream change its results from the
// next record on (never earlier, never later), and survive a restore.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runJob } from '../../core/index.js';
import { fixture } from '../helpers/paths.js';

interface Out {
  i: number;
  version: number;
  result: number;
  perKey: number;
  subtask: number;
  seq: number;
  attempt: number;
}

const COUNT = 3000;
const MULT = [1, 2, 3, 4]; // by rule version (0: no rule yet)

function check(out: Out[]): void {
  // Exactly once each, with the result its version's rule gives.
  assert.deepEqual(
    out.map((o) => o.i).sort((a, b) => a - b),
    Array.from({ length: COUNT }, (_, i) => i),
  );
  for (const o of out) assert.equal(o.result, o.i * MULT[o.version], `record ${o.i} with rule ${o.version}`);
  // In each subtask's processing order, once a rule arrived every later record sees it (or a newer one).
  const runs = new Map<string, Out[]>();
  for (const o of out) {
    const id = `${o.attempt}/${o.subtask}`;
    runs.set(id, [...(runs.get(id) ?? []), o]);
  }
  for (const [id, l] of runs) {
    l.sort((a, b) => a.seq - b.seq);
    for (let k = 1; k < l.length; k++) assert.ok(l[k].version >= l[k - 1].version, `${id}: rule ${l[k].version} after ${l[k - 1].version}`);
  }
  // Keyed state beside the broadcast state: per key, the counts 1..n each once.
  const perKey = new Map<number, number[]>();
  for (const o of out) perKey.set(o.i % 5, [...(perKey.get(o.i % 5) ?? []), o.perKey]);
  for (const [k, ns] of perKey)
    assert.deepEqual(
      ns.sort((a, b) => a - b),
      Array.from({ length: ns.length }, (_, j) => j + 1),
      `key ${k}`,
    );
}

describe('broadcast state', () => {
  it('rules change the results of the records after them', async () => {
    const r = await runJob(fixture('time/broadcast-rules.mjs'), { parallelism: 2, args: { count: String(COUNT), rate: '1500' } });
    const out = (r.collected?.out ?? []) as Out[];
    check(out);
    const versions = new Set(out.map((o) => o.version));
    assert.ok(versions.has(0) && versions.has(3), `records before and after the rules (${[...versions]})`);
  });

  it('survives a restore: after the failure every record sees the last rule', async () => {
    const r = await runJob(fixture('time/broadcast-rules.mjs'), {
      parallelism: 2,
      mode: 'exactly-once',
      checkpointIntervalMs: 100,
      restart: 'fixed:3:10',
      args: { count: String(COUNT), rate: '1500', fail: '1' },
    });
    assert.equal(r.restarts, 1);
    const out = (r.collected?.out ?? []) as Out[];
    check(out);
    const after = out.filter((o) => o.attempt === 1);
    assert.ok(after.length > 100, `records processed after the restore (${after.length})`);
    for (const o of after) assert.equal(o.version, 3, `record ${o.i} after the restore`);
  });
});
