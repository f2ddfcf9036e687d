import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { generator } from '../../core/connectors/sources/generator.js';
import { fromElements } from '../../core/connectors/sources/collection.js';
import type { ConnectorContext, Source, SourceReader } from '../../core/connectors/types.js';
import { EddyError } from '../../core/failure.js';

function ctx(subtaskIndex: number, parallelism: number): ConnectorContext {
  return { subtaskIndex, parallelism, operatorUid: 'gen', attempt: 0, report() {} };
}

async function reader<T>(source: Source<T>, i: number, p: number, state?: unknown): Promise<SourceReader<T>> {
  const r = await source.createReader(ctx(i, p));
  if (state !== undefined) r.restoreState!(state);
  await r.open?.();
  return r;
}

/** Polls up to `polls` times (batch size `max`) or until 'end'. */
async function drain<T>(r: SourceReader<T>, max: number, polls = Infinity): Promise<{ out: T[]; ended: boolean }> {
  const out: T[] = [];
  for (let n = 0; n < polls; n++) {
    const status = await r.poll({ collect: (v) => void out.push(v) }, max);
    if (status === 'end') return { out, ended: true };
    if (status === 'idle') await new Promise((res) => setTimeout(res, r.idleMs ?? 1));
  }
  return { out, ended: false };
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const ascending = (a: number[]) => [...a].sort((x, y) => x - y);

describe('generator', () => {
  it('the union over subtasks is 0..count-1 at any parallelism, ascending within a subtask', async () => {
    for (const count of [0, 1, 7, 1000]) {
      for (const p of [1, 2, 3, 4, 7, 12]) {
        const source = generator({ count, fn: (i) => i });
        const all: number[] = [];
        for (let s = 0; s < p; s++) {
          const { out, ended } = await drain(await reader(source, s, p), 13);
          assert.ok(ended);
          assert.deepEqual(out, ascending(out));
          assert.ok(out.every((i) => i % p === s));
          all.push(...out);
        }
        assert.deepEqual(ascending(all), range(count), `count=${count} p=${p}`);
      }
    }
  });

  it('maps indices through fn', async () => {
    const source = generator({ count: 5, fn: (i) => ({ id: i, name: `n${i}` }) });
    const { out } = await drain(await reader(source, 0, 1), 100);
    assert.deepEqual(
      out,
      range(5).map((i) => ({ id: i, name: `n${i}` })),
    );
  });

  it('restore continues with the next index (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 500 }),
        fc.integer({ min: 1, max: 6 }),
        fc.array(fc.integer({ min: 0, max: 20 }), { maxLength: 5 }),
        fc.integer({ min: 1, max: 50 }),
        async (count, p, stops, max) => {
          const source = generator({ count, fn: (i) => i });
          const all: number[] = [];
          for (let s = 0; s < p; s++) {
            let state: unknown;
            for (const polls of [...stops, Infinity]) {
              const r = await reader(source, s, p, state);
              const { out, ended } = await drain(r, max, polls);
              all.push(...out);
              const snap = JSON.parse(JSON.stringify(r.snapshotState!())) as { next: number };
              if (!ended && out.length > 0) assert.equal(snap.next, out[out.length - 1] + p);
              state = snap;
              if (ended) break;
            }
          }
          assert.deepEqual(ascending(all), range(count));
        },
      ),
      { numRuns: 150 },
    );
  });

  it('restores the states of all readers into another parallelism (rescale)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 400 }),
        fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 4 }),
        fc.array(fc.integer({ min: 0, max: 10 }), { minLength: 8, maxLength: 8 }),
        async (count, ps, polls) => {
          const source = generator({ count, fn: (i) => i });
          const all: number[] = [];
          let states: unknown[] | undefined;
          for (const p of ps) {
            const next: unknown[] = [];
            for (let s = 0; s < p; s++) {
              const r = await reader(source, s, p, states);
              const { out } = await drain(r, 3, polls[s]);
              assert.deepEqual(out, ascending(out));
              all.push(...out);
              next.push(JSON.parse(JSON.stringify(r.snapshotState!())));
            }
            states = next;
          }
          for (let s = 0; s < 3; s++) all.push(...(await drain(await reader(source, s, 3, states), 50)).out);
          assert.deepEqual(ascending(all), range(count));
        },
      ),
      { numRuns: 150 },
    );
  });

  it("refuses one reader's state taken at another parallelism", async () => {
    const source = generator({ count: 10, fn: (i) => i });
    const state = (await reader(source, 0, 2)).snapshotState!();
    const r = await source.createReader(ctx(0, 3));
    assert.throws(
      () => r.restoreState!(state),
      (e: unknown) => e instanceof EddyError && e.code === 'UNSUPPORTED',
    );
  });

  it('is unbounded without a count', async () => {
    const source = generator({ fn: (i) => i });
    assert.equal(source.bounded, false);
    assert.equal(source.stateful, true);
    const r = await reader(source, 1, 2);
    const { out, ended } = await drain(r, 100, 3);
    assert.equal(ended, false);
    assert.deepEqual(
      out,
      range(300).map((i) => 1 + 2 * i),
    );
    assert.equal((r.snapshotState!() as { next: number }).next, 601);
  });

  it('enforces the rate by going idle', async () => {
    // 200 records/s over 2 subtasks: each gets 100/s, so 20 records take about 200 ms.
    const source = generator({ count: 40, rate: 200, fn: (i) => i });
    const r = await reader(source, 0, 2);
    const started = performance.now();
    let idles = 0;
    const out: number[] = [];
    for (;;) {
      const status = await r.poll({ collect: (v) => void out.push(v) }, 1000);
      if (status === 'end') break;
      if (status === 'idle') {
        idles++;
        assert.ok(r.idleMs! >= 1 && r.idleMs! <= 100, `idleMs ${r.idleMs}`);
        await new Promise((res) => setTimeout(res, r.idleMs));
      }
    }
    const elapsed = performance.now() - started;
    assert.deepEqual(
      out,
      range(20).map((i) => 2 * i),
    );
    assert.ok(idles > 0);
    assert.ok(elapsed >= 150, `took ${elapsed} ms`);
    assert.ok(elapsed < 2000, `took ${elapsed} ms`);
  });

  it('rejects a bad count or rate', () => {
    assert.throws(
      () => generator({ count: -1, fn: (i) => i }),
      (e: unknown) => e instanceof EddyError && e.code === 'JOB_INVALID',
    );
    assert.throws(
      () => generator({ count: 3, rate: 0, fn: (i) => i }),
      (e: unknown) => e instanceof EddyError && e.code === 'JOB_INVALID',
    );
  });
});

describe('fromElements', () => {
  it('emits the values in order and ends', async () => {
    const source = fromElements('a', 'b', 'c', 'd', 'e');
    assert.equal(source.maxParallelism, 1);
    assert.equal(source.stateful, true);
    assert.equal(source.bounded, true);
    const { out, ended } = await drain(await reader(source, 0, 1), 2);
    assert.ok(ended);
    assert.deepEqual(out, ['a', 'b', 'c', 'd', 'e']);
  });

  it('restore continues with the next element', async () => {
    const source = fromElements(...range(10));
    for (let polls = 0; polls <= 5; polls++) {
      const first = await reader(source, 0, 1);
      const a = await drain(first, 3, polls);
      const state = JSON.parse(JSON.stringify(first.snapshotState!()));
      assert.equal(state.offset, a.out.length);
      const b = await drain(await reader(source, 0, 1, state), 3);
      assert.deepEqual([...a.out, ...b.out], range(10));
    }
  });
});
