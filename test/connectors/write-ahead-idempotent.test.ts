// The sinks for targets that cannot transact: the write-ahead sink (records held in the
// checkpoint until it completes, batches recognisable by id on a re-commit) and the
// idempotent sink (upserts by key, replays overwrite). Unit tests drive the writers directly;
// engine tests run the validating job with injected failures against plain files and compare
// with the fault-free output computed without the engine. `npm test`: the writeAhead sink at
// parallelism 1 and the idempotent sink at 2; EDDY_SOAK=1 adds each at the other parallelism.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pack, unpack } from 'msgpackr';
import { runJob, type ConsistencyMode } from '../../core/index.js';
import { idempotent } from '../../core/connectors/sinks/idempotent.js';
import { writeAhead, type WriteAheadBatch, type WriteAheadHandle } from '../../core/connectors/sinks/write-ahead.js';
import type { ConnectorContext, SinkWriter } from '../../core/connectors/types.js';
import { EddyError } from '../../core/failure.js';
import { fixture } from '../helpers/paths.js';

function ctx(attempt = 0, subtaskIndex = 0): ConnectorContext {
  return { subtaskIndex, parallelism: 1, operatorUid: 'sink', attempt, report() {} };
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

function isSinkFailure(err: unknown): boolean {
  return err instanceof EddyError && err.code === 'SINK_FAILED';
}

/** A write-ahead writer whose `write` calls are recorded. */
async function recordingWriteAhead(calls: Array<{ records: number[]; batch: WriteAheadBatch }>, attempt = 0): Promise<SinkWriter<number>> {
  const sink = writeAhead<number>({ write: (records, _ctx, batch) => void calls.push({ records: [...records], batch }) });
  return sink.createWriter(ctx(attempt));
}

describe('writeAhead writer', () => {
  it('writes nothing before commit, then each batch in order with a unique id', async () => {
    const calls: Array<{ records: number[]; batch: WriteAheadBatch }> = [];
    const w = await recordingWriteAhead(calls);
    for (let i = 0; i < 5; i++) w.write(i);
    const h1 = (await w.prepareCommit!(1)) as WriteAheadHandle[];
    for (let i = 5; i < 8; i++) w.write(i);
    const h2 = (await w.prepareCommit!(2)) as WriteAheadHandle[];
    assert.equal(calls.length, 0, 'nothing reaches the target before its checkpoint completes');
    assert.equal(h1.length, 1);
    assert.deepEqual(h1[0].records, [0, 1, 2, 3, 4], 'the handle carries the records, so they live in the checkpoint');
    assert.equal(h1[0].checkpointId, 1);
    assert.notEqual(h1[0].id, h2[0].id);
    // The runtime passes what prepareCommit returned, per checkpoint, oldest first.
    await w.commit!([h1, h2]);
    assert.deepEqual(
      calls.map((c) => c.records),
      [
        [0, 1, 2, 3, 4],
        [5, 6, 7],
      ],
    );
    assert.deepEqual(
      calls.map((c) => c.batch),
      [
        { id: h1[0].id, checkpointId: 1, writer: calls[0].batch.writer, seq: 0 },
        { id: h2[0].id, checkpointId: 2, writer: calls[0].batch.writer, seq: 1 },
      ],
    );
    assert.equal(h1[0].id, `${calls[0].batch.writer}/0`, 'the id is the writer and the seq');
  });

  it('seals nothing for a checkpoint without records', async () => {
    const w = await recordingWriteAhead([]);
    assert.deepEqual(await w.prepareCommit!(1), []);
  });

  it('a batch ends exactly at the barrier: records after prepareCommit go to the next one', async () => {
    const calls: Array<{ records: number[]; batch: WriteAheadBatch }> = [];
    const w = await recordingWriteAhead(calls);
    w.write(1);
    const sealing = w.prepareCommit!(1);
    w.write(2);
    const h1 = await sealing;
    await w.commit!([h1]);
    assert.deepEqual(
      calls.map((c) => c.records),
      [[1]],
    );
  });

  it('skips a commit repeated in the same writer, and re-commits after a restore with the same ids', async () => {
    const calls: Array<{ records: number[]; batch: WriteAheadBatch }> = [];
    const w = await recordingWriteAhead(calls);
    w.write(1);
    w.write(2);
    const h = await w.prepareCommit!(7);
    await w.commit!([h]);
    await w.commit!([h]);
    assert.equal(calls.length, 1, 'the same writer knows it wrote the batch');

    // A restore: the handles come back from the checkpoint (encoded and decoded) to a new writer.
    const restored = unpack(pack([h])) as unknown[];
    const after = await recordingWriteAhead(calls, 1);
    await after.commit!(restored);
    assert.equal(calls.length, 2, 'the new writer cannot know: write sees the batch again');
    assert.deepEqual(calls[1], calls[0], 'same records, same id: the user can recognise it');
  });

  it('user code that skips known ids makes re-commits exactly-once', async () => {
    const target: number[] = [];
    const seen = new Set<string>();
    const sink = writeAhead<number>({
      write(records, _ctx, { id }) {
        if (seen.has(id)) return;
        target.push(...records);
        seen.add(id);
      },
    });
    const w = await sink.createWriter(ctx());
    for (let i = 0; i < 4; i++) w.write(i);
    const h1 = await w.prepareCommit!(1);
    for (let i = 4; i < 6; i++) w.write(i);
    const h2 = await w.prepareCommit!(2);
    await w.commit!([h1]);
    // Failure before checkpoint 2's commit; the restore of checkpoint 2 re-commits both.
    await w.abort!();
    const w2 = await sink.createWriter(ctx(1));
    await w2.commit!(unpack(pack([h1, h2])) as unknown[]);
    assert.deepEqual(target, [0, 1, 2, 3, 4, 5]);
  });

  it('without checkpointing, finish writes everything once', async () => {
    const calls: Array<{ records: number[]; batch: WriteAheadBatch }> = [];
    const w = await recordingWriteAhead(calls);
    for (let i = 0; i < 1000; i++) w.write(i);
    await w.finish();
    assert.equal(calls.length, 1);
    assert.deepEqual(
      calls[0].records,
      Array.from({ length: 1000 }, (_, i) => i),
    );
    assert.equal(typeof calls[0].batch.id, 'string');
    assert.equal(calls[0].batch.checkpointId, undefined);
    await w.finish();
    assert.equal(calls.length, 1, 'nothing left to write');
  });

  it('finish writes batches sealed but not committed first, in order', async () => {
    const calls: Array<{ records: number[]; batch: WriteAheadBatch }> = [];
    const w = await recordingWriteAhead(calls);
    w.write(1);
    const h1 = await w.prepareCommit!(1);
    w.write(2);
    const h2 = await w.prepareCommit!(2);
    w.write(3);
    await w.commit!([h1]);
    await w.finish();
    assert.deepEqual(
      calls.map((c) => c.records),
      [[1], [2], [3]],
    );
    assert.equal(calls[1].batch.id, (h2 as WriteAheadHandle[])[0].id);
  });

  it('abort drops what is not sealed', async () => {
    const calls: Array<{ records: number[]; batch: WriteAheadBatch }> = [];
    const w = await recordingWriteAhead(calls);
    w.write(1);
    await w.abort!();
    await w.finish();
    assert.equal(calls.length, 0);
  });

  it('ids are unique across writers, subtasks and attempts', async () => {
    const ids = new Set<string>();
    const sink = writeAhead<number>({ write() {} });
    for (const [attempt, subtask] of [
      [0, 0],
      [0, 0],
      [0, 1],
      [1, 0],
    ]) {
      const w = await sink.createWriter(ctx(attempt, subtask));
      for (let c = 1; c <= 3; c++) {
        w.write(c);
        for (const h of (await w.prepareCommit!(c)) as WriteAheadHandle[]) ids.add(h.id);
      }
    }
    assert.equal(ids.size, 12);
  });

  it('a failing write fails the commit with SINK_FAILED, naming the batch', async () => {
    const w = await writeAhead<number>({
      write() {
        throw new Error('disk full');
      },
    }).createWriter(ctx());
    w.write(1);
    const h = (await w.prepareCommit!(1)) as WriteAheadHandle[];
    await assert.rejects(
      Promise.resolve(w.commit!([h])),
      (err: unknown) => isSinkFailure(err) && (err as Error).message.includes(h[0].id) && (err as Error).message.includes('disk full'),
    );
  });

  it('refuses a malformed handle and a missing write function', async () => {
    const w = await recordingWriteAhead([]);
    await assert.rejects(Promise.resolve(w.commit!([[{ nope: 1 }]])), isSinkFailure);
    assert.throws(
      () => writeAhead({} as never),
      (err: unknown) => err instanceof EddyError && err.code === 'JOB_INVALID',
    );
  });

  it('is stateful (its batches live in checkpoints, so it needs a uid) and named', () => {
    assert.equal(writeAhead({ write() {} }).stateful, true);
    assert.equal(writeAhead({ write() {}, name: 'toHttp' }).kind, 'toHttp');
  });
});

interface Rec {
  k: string;
  v: number;
}

describe('idempotent writer', () => {
  function target() {
    const map = new Map<string, Rec>();
    const batches: Array<[string, Rec][]> = [];
    const upsert = (entries: [string, Rec][]) => {
      batches.push(entries);
      for (const [k, v] of entries) map.set(k, v);
    };
    return { map, batches, upsert };
  }

  it('upserts every flushEvery records without a barrier, latest value per key', async () => {
    const t = target();
    const w = await idempotent<Rec, string>({ key: (r) => r.k, upsert: t.upsert, flushEvery: 4 }).createWriter(ctx());
    w.write({ k: 'a', v: 1 });
    w.write({ k: 'b', v: 1 });
    w.write({ k: 'a', v: 2 });
    assert.equal(t.batches.length, 0);
    w.write({ k: 'c', v: 1 });
    await tick();
    assert.deepEqual(t.batches, [
      [
        ['b', { k: 'b', v: 1 }],
        ['a', { k: 'a', v: 2 }],
        ['c', { k: 'c', v: 1 }],
      ],
    ]);
  });

  it('prepareCommit flushes, waits for the upsert, keeps nothing in the checkpoint', async () => {
    let release!: () => void;
    const t = target();
    const w = await idempotent<Rec, string>({
      key: (r) => r.k,
      upsert: async (entries) => {
        await new Promise<void>((r) => (release = r));
        t.upsert(entries);
      },
    }).createWriter(ctx());
    w.write({ k: 'a', v: 1 });
    let done = false;
    const p = Promise.resolve(w.prepareCommit!(1)).then((h) => {
      done = true;
      return h;
    });
    w.write({ k: 'a', v: 2 }); // after the barrier: the next batch
    await tick();
    assert.equal(done, false, 'the checkpoint waits for the upsert of the records before its barrier');
    release();
    assert.deepEqual(await p, []);
    assert.deepEqual(t.map.get('a'), { k: 'a', v: 1 });
    const f = Promise.resolve(w.finish());
    await tick();
    release();
    await f;
    assert.deepEqual(t.map.get('a'), { k: 'a', v: 2 });
  });

  it('runs one upsert at a time, in order, gathering while one runs', async () => {
    const releases: Array<() => void> = [];
    const order: number[][] = [];
    let running = 0;
    const w = await idempotent<Rec, string>({
      key: (r) => r.k,
      flushEvery: 2,
      upsert: async (entries) => {
        assert.equal(++running, 1, 'never two upserts at once');
        await new Promise<void>((r) => releases.push(r));
        order.push(entries.map(([, v]) => v.v));
        running--;
      },
    }).createWriter(ctx());
    for (let v = 0; v < 2; v++) w.write({ k: `k${v}`, v });
    for (let v = 2; v < 7; v++) w.write({ k: `k${v}`, v }); // gathered while the first runs
    await tick();
    assert.equal(releases.length, 1);
    releases.shift()!();
    await tick();
    assert.equal(releases.length, 1, 'the gathered records went out as one batch when the first ended');
    const fin = Promise.resolve(w.finish());
    releases.shift()!();
    await fin;
    assert.deepEqual(order, [
      [0, 1],
      [2, 3, 4, 5, 6],
    ]);
  });

  it('a replay overwrites the same keys: the final target equals a fault-free run', async () => {
    const records = Array.from({ length: 100 }, (_, i) => ({ k: `k${i % 7}`, v: i }));
    const clean = target();
    const w0 = await idempotent<Rec, string>({ key: (r) => r.k, upsert: clean.upsert, flushEvery: 10 }).createWriter(ctx());
    for (const r of records) w0.write(r);
    await w0.finish();

    const t = target();
    const sink = idempotent<Rec, string>({ key: (r) => r.k, upsert: t.upsert, flushEvery: 10 });
    const w1 = await sink.createWriter(ctx());
    for (const r of records.slice(0, 30)) w1.write(r);
    await w1.prepareCommit!(1); // checkpoint after record 30
    for (const r of records.slice(30, 75)) w1.write(r);
    await tick();
    await w1.abort!(); // failure: records 30..74 partly written, the rest lost
    const w2 = await sink.createWriter(ctx(1));
    for (const r of records.slice(30)) w2.write(r); // replay from the checkpoint
    await w2.finish();
    assert.deepEqual([...t.map].sort(), [...clean.map].sort());
  });

  it('a failed upsert fails the next write and the next barrier with SINK_FAILED', async () => {
    let calls = 0;
    const w = await idempotent<Rec, string>({
      key: (r) => r.k,
      flushEvery: 1,
      upsert: () => {
        calls++;
        throw new Error('connection reset');
      },
    }).createWriter(ctx());
    w.write({ k: 'a', v: 1 });
    await tick();
    assert.throws(
      () => w.write({ k: 'b', v: 1 }),
      (err: unknown) => isSinkFailure(err) && (err as Error).message.includes('connection reset'),
    );
    await assert.rejects(Promise.resolve(w.prepareCommit!(1)), isSinkFailure);
    await assert.rejects(Promise.resolve(w.finish()), isSinkFailure);
    assert.equal(calls, 1, 'nothing more is upserted after a failure');
    await w.abort!(); // does not throw: the failure was reported already
  });

  it('abort waits for a running upsert, so it cannot land after a restarted writer', async () => {
    let release!: () => void;
    let landed = false;
    const w = await idempotent<Rec, string>({
      key: (r) => r.k,
      flushEvery: 1,
      upsert: async () => {
        await new Promise<void>((r) => (release = r));
        landed = true;
      },
    }).createWriter(ctx());
    w.write({ k: 'a', v: 1 });
    await tick();
    const aborted = Promise.resolve(w.abort!());
    release();
    await aborted;
    assert.equal(landed, true);
  });

  it('validates its options; stateful so that it gets a uid and hence the barrier flush', () => {
    const upsert = () => {};
    const key = (r: Rec) => r.k;
    const invalid = (err: unknown) => err instanceof EddyError && err.code === 'JOB_INVALID';
    assert.throws(() => idempotent<Rec, string>({ key, upsert, flushEvery: 0 }), invalid);
    assert.throws(() => idempotent<Rec, string>({ key, upsert, flushEvery: 1.5 }), invalid);
    assert.throws(() => idempotent({ key, upsert: undefined as never }), invalid);
    assert.throws(() => idempotent({ key: undefined as never, upsert }), invalid);
    assert.equal(idempotent({ key, upsert }).stateful, true);
    assert.equal(idempotent({ key, upsert, name: 'toDb' }).kind, 'toDb');
  });
});

// ---- engine level: the validating job with failures, against plain files ----

const COUNT = 300_000;
const KEYS = 1000; // a multiple of every parallelism used: each key comes from one source subtask, in order
/** Records per second: slow enough that every planned fault fires before the data ends. */
const RATE = 100_000;

interface Out {
  i: number;
  key: number;
  seq: number;
  sum: number;
}

/** What a fault-free run produces, record by record, computed without the engine. */
function expected(): Out[] {
  const sums = new Float64Array(KEYS);
  const out: Out[] = [];
  for (let i = 0; i < COUNT; i++) {
    const key = i % KEYS;
    sums[key] += (i * 7919) % 1000;
    out.push({ i, key, seq: Math.floor(i / KEYS), sum: sums[key] });
  }
  return out;
}

async function runValidating(
  sink: 'writeAhead' | 'idempotent',
  mode: ConsistencyMode,
  parallelism: number,
  faults: string,
  read: (dir: string) => void,
  rate = RATE,
) {
  const dir = mkdtempSync(join(tmpdir(), 'eddy-wa-idem-'));
  try {
    const result = await runJob(fixture('sink-validating.mjs'), {
      parallelism,
      mode,
      checkpointIntervalMs: 100,
      restart: 'fixed:10:10',
      args: { count: String(COUNT), keys: String(KEYS), rate: String(rate), output: join(dir, 'out'), faults, sink },
    });
    read(join(dir, 'out'));
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function readParts(dir: string): Map<string, string> {
  const parts = new Map<string, string>();
  for (const f of readdirSync(dir).sort()) if (/^part-\d+\.jsonl$/.test(f)) parts.set(f, readFileSync(join(dir, f), 'utf8'));
  return parts;
}

/** Lost, duplicated and wrong records over all part files, and per-key order within each. */
function compare(parts: Map<string, string>): { lost: number; duplicated: number; wrong: number; outOfOrder: number } {
  const exp = expected();
  const seen = new Uint8Array(COUNT);
  let duplicated = 0;
  let wrong = 0;
  let outOfOrder = 0;
  for (const text of parts.values()) {
    const lastSeq = new Map<number, number>();
    for (const line of text.split('\n')) {
      if (!line) continue;
      const o = JSON.parse(line) as Out;
      if (seen[o.i]++) duplicated++;
      const e = exp[o.i];
      if (!e || o.key !== e.key || o.seq !== e.seq || o.sum !== e.sum) wrong++;
      if ((lastSeq.get(o.key) ?? -1) + 1 !== o.seq) outOfOrder++;
      lastSeq.set(o.key, o.seq);
    }
  }
  let lost = 0;
  for (let i = 0; i < COUNT; i++) if (!seen[i]) lost++;
  return { lost, duplicated, wrong, outOfOrder };
}

describe('writeAhead sink in a job, appending to a plain file', () => {
  it('EXACTLY_ONCE, parallelism 1, five faults: the file is exactly the fault-free output', async () => {
    // Thrown function, worker exit, throwing restore, a failure after a batch was written
    // (the runtime re-commits it: skipped by id) and a torn write (truncated, written again).
    const faults = 'map@20000,exit@15000,restore@0,write@2,torn@3';
    let parts = new Map<string, string>();
    const result = await runValidating('writeAhead', 'exactly-once', 1, faults, (dir) => (parts = readParts(dir)));
    assert.equal(result.restarts, 5, `all five faults fired (${faults}): ${result.failures.map((f) => f.message).join('; ')}`);
    assert.deepEqual([...parts.keys()], ['part-0.jsonl']);
    const want = expected()
      .map((o) => JSON.stringify(o) + '\n')
      .join('');
    const got = parts.get('part-0.jsonl')!;
    assert.ok(got === want, `file content differs from the fault-free output: ${JSON.stringify(compare(parts))}`);
  });

  // Parallelism 1 (the file compared byte for byte) in `npm test`; EDDY_SOAK=1 adds 2: batch ids
  // unique across subtasks and attempts are the writer tests' 'ids are unique …' above.
  it(
    'EXACTLY_ONCE, parallelism 2, five faults in another order: lost 0, duplicated 0',
    {
      skip:
        process.env.EDDY_SOAK !== '1' &&
        'EDDY_SOAK=1 (parallelism 1 above runs the same five faults; ids across subtasks: the writer tests)',
    },
    async () => {
      const faults = 'exit@12000,torn@2,restore@0,map@25000,write@3';
      let parts = new Map<string, string>();
      const result = await runValidating('writeAhead', 'exactly-once', 2, faults, (dir) => (parts = readParts(dir)));
      assert.equal(result.restarts, 5, `all five faults fired (${faults}): ${result.failures.map((f) => f.message).join('; ')}`);
      assert.equal(parts.size, 2);
      assert.deepEqual(compare(parts), { lost: 0, duplicated: 0, wrong: 0, outOfOrder: 0 }, `faults ${faults}`);
    },
  );

  it('without checkpointing, finish writes everything at the end as one batch', async () => {
    let parts = new Map<string, string>();
    let ledger = '';
    const result = await runValidating(
      'writeAhead',
      'none',
      1,
      '',
      (dir) => {
        parts = readParts(dir);
        ledger = readFileSync(join(dir, '.part-0.ledger'), 'utf8');
      },
      0,
    ); // no faults to wait for: full speed
    assert.equal(result.restarts, 0);
    assert.equal(result.checkpointsCompleted, 0);
    assert.equal(ledger.trim().split('\n').length, 1, 'one batch');
    assert.ok(
      parts.get('part-0.jsonl') ===
        expected()
          .map((o) => JSON.stringify(o) + '\n')
          .join(''),
    );
  });
});

describe('idempotent sink in a job, upserting into a JSON file', () => {
  /** The latest record per key in a fault-free run. */
  function finalPerKey(): Map<number, Out> {
    const m = new Map<number, Out>();
    for (const o of expected()) m.set(o.key, o);
    return m;
  }

  function readState(dir: string): { merged: Map<number, Out>; overlap: number } {
    const merged = new Map<number, Out>();
    let overlap = 0;
    for (const f of readdirSync(dir)) {
      if (!/^state-\d+\.json$/.test(f)) continue;
      for (const [k, v] of JSON.parse(readFileSync(join(dir, f), 'utf8')) as [number, Out][]) {
        if (merged.has(k)) overlap++;
        merged.set(k, v);
      }
    }
    return { merged, overlap };
  }

  // Parallelism 2 (two subtasks upserting their own keys) in `npm test`; EDDY_SOAK=1 adds 1.
  const cases = [
    [1, 'map@20000,upsert@3,exit@15000,restore@0'],
    // upsert@K counts from the attempt's start, so it never comes first: the attempt after it
    // must have a checkpoint to restore (else restore@0 has nothing to fail on).
    [2, 'exit@10000,upsert@2,restore@0,map@30000'],
  ] as const;
  for (const [parallelism, faults] of cases.filter(([p]) => process.env.EDDY_SOAK === '1' || p === 2)) {
    it(`EXACTLY_ONCE, parallelism ${parallelism}, four faults: the final value per key equals the fault-free one`, async () => {
      let state = { merged: new Map<number, Out>(), overlap: 0 };
      const result = await runValidating('idempotent', 'exactly-once', parallelism, faults, (dir) => {
        assert.equal(existsSync(join(dir, 'state-0.json.tmp')), false, 'no temp file left');
        state = readState(dir);
      });
      assert.equal(result.restarts, 4, `all four faults fired (${faults}): ${result.failures.map((f) => f.message).join('; ')}`);
      assert.equal(state.overlap, 0, 'each key is written by one subtask');
      const want = finalPerKey();
      assert.equal(state.merged.size, want.size);
      let wrong = 0;
      for (const [k, v] of want) if (JSON.stringify(state.merged.get(k)) !== JSON.stringify(v)) wrong++;
      assert.equal(wrong, 0, `keys whose final value differs (faults ${faults})`);
    });
  }
});
