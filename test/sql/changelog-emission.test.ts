// test-lane: pair
// The exact changes emitted for scripted inputs, as Flink's GroupAggFunction and rank functions
// emit them: no update when the aggregate did not change, -U/+U when it did, -D when a group's
// last row goes (and over inserts only, MIN/MAX from one kept value); re-ranked rows updated
// rank by rank, or with no row number only the rows that entered and left the top N. The
// append-only Top-1 and Top-2 are also checked on 300 random rows against a reference that sorts
// each partition anew after every row.
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { runJob } from '../../core/index.js';
import { APPEND_TOP_INPUT, DEDUP_BUNDLE, randomTopInput } from './jobs/emission-job.js';

type Row = Record<string, unknown>;
type Change = { kind: string; row: Row };

/**
 * What Flink's append-only rank functions emit for `input`, Top-n by v DESC per p (equal v in
 * arrival order), from the partition's rows sorted anew after each row: each rank whose row
 * changed is updated (-U/+U) or appears (+I). Without a row number a Top-n (n > 1) emits the
 * set's difference (-D of the row pushed out, +I of the new), a Top-1 still -U/+U (Flink's
 * FastTop1Function: the partition key is the unique key).
 */
function expectedTop(input: readonly Row[], n: number, rn: boolean): Change[] {
  const parts = new Map<unknown, Row[]>();
  const out: Change[] = [];
  const ranked = (r: Row, i: number): Row => (rn ? { ...r, rn: i + 1 } : r);
  for (const row of input) {
    const all = parts.get(row.p) ?? [];
    parts.set(row.p, all);
    const before = all.slice(0, n);
    all.push(row);
    // A stable sort: equal v keep their arrival order.
    all.sort((x, y) => (y.v as number) - (x.v as number));
    const after = all.slice(0, n);
    if (!rn && n > 1) {
      for (const r of before) if (!after.includes(r)) out.push({ kind: '-D', row: r });
      for (const r of after) if (!before.includes(r)) out.push({ kind: '+I', row: r });
      continue;
    }
    for (let i = 0; i < after.length; i++) {
      if (before[i] === after[i]) continue;
      if (before[i] === undefined) out.push({ kind: '+I', row: ranked(after[i]!, i) });
      else out.push({ kind: '-U', row: ranked(before[i]!, i) }, { kind: '+U', row: ranked(after[i]!, i) });
    }
  }
  return out;
}

const JOB = fileURLToPath(new URL('./jobs/emission-job.js', import.meta.url));

describe('changelog emission', () => {
  // One run of the job serves both cases.
  let run: ReturnType<typeof runJob> | undefined;
  const result = () => (run ??= runJob(JOB, { parallelism: 1 }));
  it('GROUP BY and Top-N emit exactly the changes Flink emits', async () => {
    const { collected } = await result();
    assert.deepEqual(collected['agg-out'], [
      { kind: '+I', row: { k: 'a', hi: 5 } },
      // +I v=3: MAX stays 5, nothing emitted
      { kind: '-U', row: { k: 'a', hi: 5 } },
      { kind: '+U', row: { k: 'a', hi: 3 } },
      { kind: '-D', row: { k: 'a', hi: 3 } },
    ]);
    assert.deepEqual(collected['append-agg-out'], [
      { kind: '+I', row: { k: 'a', lo: 5, hi: 5 } },
      { kind: '-U', row: { k: 'a', lo: 5, hi: 5 } },
      { kind: '+U', row: { k: 'a', lo: 3, hi: 5 } },
      { kind: '-U', row: { k: 'a', lo: 3, hi: 5 } },
      { kind: '+U', row: { k: 'a', lo: 3, hi: 9 } },
      // v=4 changes neither
    ]);
    assert.deepEqual(collected['top-true-out'], [
      { kind: '+I', row: { id: 1, v: 10, rn: 1 } },
      // id 2 takes rank 1, id 1 moves to rank 2
      { kind: '-U', row: { id: 1, v: 10, rn: 1 } },
      { kind: '+U', row: { id: 2, v: 20, rn: 1 } },
      { kind: '+I', row: { id: 1, v: 10, rn: 2 } },
      // id 3 is below the top 2: nothing; deleting id 2 moves id 1 up and lets id 3 in
      { kind: '-U', row: { id: 2, v: 20, rn: 1 } },
      { kind: '+U', row: { id: 1, v: 10, rn: 1 } },
      { kind: '-U', row: { id: 1, v: 10, rn: 2 } },
      { kind: '+U', row: { id: 3, v: 5, rn: 2 } },
    ]);
    assert.deepEqual(collected['top-false-out'], [
      { kind: '+I', row: { id: 1, v: 10 } },
      { kind: '+I', row: { id: 2, v: 20 } },
      { kind: '-D', row: { id: 2, v: 20 } },
      { kind: '+I', row: { id: 3, v: 5 } },
    ]);
  });

  it('in mini-batches only the net change of each bundle', async () => {
    const { collected } = await result();
    // Bundles (+I 5, +I 3) and (-D 5, -D 3): the group appears with MAX 5 and goes.
    assert.deepEqual(collected['agg-mb2-out'], [
      { kind: '+I', row: { k: 'a', hi: 5 } },
      { kind: '-D', row: { k: 'a', hi: 5 } },
    ]);
    // One bundle: the group comes and goes within it, nothing to emit.
    assert.deepEqual(collected['agg-mb100-out'] ?? [], []);
  });

  it('append-only Top-1 (FastTop1Function): an update exactly when a row sorts strictly before the top, nothing for an equal or worse one', async () => {
    const { collected } = await result();
    assert.deepEqual(collected['append-top1-true-out'], [
      { kind: '+I', row: { p: 'a', id: 1, v: 10, rn: 1 } },
      // id 2 (7) is worse and id 3 (10) equal: the first to come keeps rank 1, nothing emitted
      { kind: '+I', row: { p: 'b', id: 4, v: 1, rn: 1 } },
      { kind: '-U', row: { p: 'a', id: 1, v: 10, rn: 1 } },
      { kind: '+U', row: { p: 'a', id: 5, v: 12, rn: 1 } },
      // id 6 (11) and id 7 (1, equal in b): nothing
    ]);
    assert.deepEqual(collected['append-top1-false-out'], [
      { kind: '+I', row: { p: 'a', id: 1, v: 10 } },
      { kind: '+I', row: { p: 'b', id: 4, v: 1 } },
      { kind: '-U', row: { p: 'a', id: 1, v: 10 } },
      { kind: '+U', row: { p: 'a', id: 5, v: 12 } },
    ]);
    for (const rn of [true, false]) {
      assert.deepEqual(collected[`append-top1-${rn}-out`], expectedTop(APPEND_TOP_INPUT, 1, rn), `the reference agrees (rn ${rn})`);
      const random = expectedTop(randomTopInput(), 1, rn);
      assert.ok(random.length > 7 * 2 && random.length < 300, `the random input updates some tops and not others (${random.length})`);
      assert.deepEqual(collected[`random-top1-${rn}-out`], random, `300 random rows (rn ${rn})`);
    }
  });

  it('a mini-batched Top-1 (a deduplication): per bundle, each partition changed at most once, to its best row so far', async () => {
    const { collected } = await result();
    // Bundles of DEDUP_BUNDLE rows in arrival order; within one, the partitions in the order they first came.
    const input = randomTopInput();
    const top = new Map<unknown, Row>();
    const expected: Change[] = [];
    for (let at = 0; at < input.length; at += DEDUP_BUNDLE) {
      const best = new Map<unknown, Row>();
      for (const r of input.slice(at, at + DEDUP_BUNDLE))
        if (!best.has(r.p) || (r.v as number) > (best.get(r.p)!.v as number)) best.set(r.p, r);
      for (const [p, r] of best) {
        const old = top.get(p);
        if (old === undefined) expected.push({ kind: '+I', row: r });
        else if ((r.v as number) > (old.v as number)) expected.push({ kind: '-U', row: old }, { kind: '+U', row: r });
        else continue;
        top.set(p, r);
      }
    }
    const perRecord = expectedTop(input, 1, false);
    assert.ok(expected.length < perRecord.length, `bundles fold updates (${expected.length} against ${perRecord.length} per record)`);
    assert.deepEqual(collected['dedup-mb-out'], expected);
  });

  it('append-only Top-2 (AppendOnlyTopNFunction): a row entering shifts the ranks after it; one below the top 2 emits nothing', async () => {
    const { collected } = await result();
    assert.deepEqual(collected['append-top2-true-out'], [
      { kind: '+I', row: { p: 'a', id: 1, v: 10, rn: 1 } },
      { kind: '+I', row: { p: 'a', id: 2, v: 7, rn: 2 } },
      // id 3 (10) ranks after its equal id 1: it takes rank 2
      { kind: '-U', row: { p: 'a', id: 2, v: 7, rn: 2 } },
      { kind: '+U', row: { p: 'a', id: 3, v: 10, rn: 2 } },
      { kind: '+I', row: { p: 'b', id: 4, v: 1, rn: 1 } },
      // id 5 (12) takes rank 1; id 1 moves to rank 2, id 3 out
      { kind: '-U', row: { p: 'a', id: 1, v: 10, rn: 1 } },
      { kind: '+U', row: { p: 'a', id: 5, v: 12, rn: 1 } },
      { kind: '-U', row: { p: 'a', id: 3, v: 10, rn: 2 } },
      { kind: '+U', row: { p: 'a', id: 1, v: 10, rn: 2 } },
      { kind: '-U', row: { p: 'a', id: 1, v: 10, rn: 2 } },
      { kind: '+U', row: { p: 'a', id: 6, v: 11, rn: 2 } },
      { kind: '+I', row: { p: 'b', id: 7, v: 1, rn: 2 } },
    ]);
    for (const [name, input] of [
      ['append', APPEND_TOP_INPUT],
      ['random', randomTopInput()],
    ] as const)
      for (const rn of [true, false])
        assert.deepEqual(collected[`${name}-top2-${rn}-out`], expectedTop(input, 2, rn), `${name} input, rn ${rn}`);
  });
});
