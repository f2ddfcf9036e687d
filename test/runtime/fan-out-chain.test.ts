// A source read by several operators is chained as a tree (Flink's chaining of fan-out): the
// source and all its forward consumers run in one task, the edges that cannot be chained (a
// side output, two hash edges) leave from inside that chain. test/fixtures/jobs/fan-out.mjs
// draws the job. Checked here: the job graph's shape; every sink's committed output against a
// reference computed with plain loops (each branch sees the source's timestamps although one
// branch restamps its records, watermarks reach the windows behind a chained operator, side
// output from the middle of a chain); and the same output, exactly, under exactly-once with
// injected faults and unaligned checkpoints taken while the chain's hash edges are
// backpressured. Per-operator record counts of the chained operators too.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runJob, Sinks, Sources, StreamExecutionEnvironment, type JobResult, type RunOptions } from '../../core/index.js';
import { buildJobGraph } from '../../core/graph/job-graph.js';
import { displayName } from '../../core/graph/stream-graph.js';
import { planJob } from '../../core/runtime/job-plan.js';
import { loadJob } from '../../core/runtime/module-loader.js';
import { fixture } from '../helpers/paths.js';
import { compareWithFaultFree, readCommitted } from '../helpers/validating-output.js';

// Enough records that the faults, armed by the first completed checkpoint, still find 400 per
// subtask to count: a backpressured source blocked in its drain (workers/waits.ts) refills its
// rings at once, and with 6,000 the source had emitted nearly all of them by then.
const COUNT = 10_000;
const KEYS = 40;
/** As in the fixture. */
const WINDOW_MS = 7;
const RESTAMP_SHIFT = 1_000_000;
const value = (i: number) => (i * 7919) % 1000;

interface Outputs {
  a: { i: number; x: number; ts: number }[];
  thirds: { i: number }[];
  b: { i: number; ts: number }[];
  windows: { key: number; start: number; v: number; first: number }[];
}

/** What each sink holds after a fault-free run, from the job's documented semantics (the sums are checked by compareWithFaultFree). */
function reference(): Outputs {
  const out: Outputs = { a: [], thirds: [], b: [], windows: [] };
  const windows = new Map<string, { key: number; start: number; v: number; first: number }>();
  for (let i = 0; i < COUNT; i++) {
    out.a.push({ i, x: 2 * value(i), ts: i + RESTAMP_SHIFT });
    if (i % 3 === 0) out.thirds.push({ i });
    out.b.push({ i, ts: i });
    const key = i % KEYS;
    const start = Math.floor(i / WINDOW_MS) * WINDOW_MS;
    const w = windows.get(`${key}/${start}`);
    if (w) w.v += value(i);
    else windows.set(`${key}/${start}`, { key, start, v: value(i), first: i });
  }
  out.windows = [...windows.values()].sort(byWindow);
  return out;
}

const byI = (x: { i: number }, y: { i: number }) => x.i - y.i;
const byWindow = (x: { key: number; start: number }, y: { key: number; start: number }) => x.start - y.start || x.key - y.key;

async function run(options: RunOptions, args: Record<string, string> = {}): Promise<{ result: JobResult; out: Outputs; sums: unknown[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'eddy-fanout-'));
  try {
    const result = await runJob(fixture('fan-out.mjs'), {
      parallelism: 2,
      mode: 'exactly-once',
      checkpointIntervalMs: 50,
      restart: 'fixed:10:10',
      ...options,
      args: { count: String(COUNT), keys: String(KEYS), rate: '30000', output: dir, ...args },
    });
    const read = <T>(name: string) => readCommitted<T>(join(dir, name));
    const out: Outputs = {
      a: read<Outputs['a'][number]>('a').sort(byI),
      thirds: read<Outputs['thirds'][number]>('thirds').sort(byI),
      b: read<Outputs['b'][number]>('b').sort(byI),
      windows: read<Outputs['windows'][number]>('windows').sort(byWindow),
    };
    return { result, out, sums: read('sums') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function assertOutputs(out: Outputs, sums: unknown[], what: string): void {
  const ref = reference();
  assert.equal(out.a.length, COUNT, `${what}: sink a holds every record once`);
  assert.deepEqual(out.a, ref.a, `${what}: sink a (restamped branch)`);
  assert.deepEqual(out.thirds, ref.thirds, `${what}: the side output from the middle of the chain`);
  assert.deepEqual(out.b, ref.b, `${what}: sink b (the source's timestamps, although a sibling branch restamped)`);
  assert.deepEqual(out.windows, ref.windows, `${what}: tumbling windows behind a chained map`);
  assert.deepEqual(compareWithFaultFree(sums as never, COUNT, KEYS), { lost: 0, duplicated: 0, wrong: 0 }, `${what}: running sums`);
}

describe('fan-out chaining', () => {
  it('chains the source with all its forward consumers as a tree; other edges leave from inside it', async () => {
    const plan = planJob(await loadJob(fixture('fan-out.mjs')), { count: '1', keys: '1', output: '/nonexistent' }, { parallelism: 2 });
    const g = plan.jobGraph;
    const uid = (id: number) => displayName(plan.graph.nodes[id]);
    assert.deepEqual(
      g.vertices.map((v) => ({ name: v.name, nodes: v.nodes.map((n) => displayName(n)), parents: v.parents })),
      [
        {
          name: 'events -> (restamp -> double -> sink-a, faults -> stamp -> sink-b, narrow)',
          nodes: ['events', 'restamp', 'double', 'sink-a', 'faults', 'stamp', 'sink-b', 'narrow'],
          parents: [-1, 0, 1, 2, 0, 4, 5, 0],
        },
        { name: 'thirds -> sink-thirds', nodes: ['thirds', 'sink-thirds'], parents: [-1, 0] },
        { name: 'windows -> sink-windows', nodes: ['windows', 'sink-windows'], parents: [-1, 0] },
        { name: 'running-sum -> slow-sums -> sink-sums', nodes: ['running-sum', 'slow-sums', 'sink-sums'], parents: [-1, 0, 1] },
      ],
    );
    assert.deepEqual(
      g.edges.map(
        (e) => `${e.from}:${uid(e.fromNode)} -> ${e.to}:${uid(e.toNode)} ${e.partitioner}${e.sideTag ? ` side ${e.sideTag}` : ''}`,
      ),
      ['0:double -> 1:thirds forward side thirds', '0:narrow -> 2:windows hash', '0:events -> 3:running-sum hash'],
    );
  });

  it('an operator that changes its input in place is chained only as its producer’s one consumer', () => {
    const shape = (mutates: boolean, consumers: number) => {
      const env = new StreamExecutionEnvironment({});
      const src = env.fromSource(Sources.generator({ count: 3, fn: (i: number) => i }), 'src').uid('src');
      for (let k = 0; k < consumers; k++) {
        const m = src.map((x: number) => x).uid(`m${k}`);
        if (k === 0) m.node.mutatesInput = mutates;
        m.sinkTo(Sinks.discard()).uid(`s${k}`);
      }
      return buildJobGraph(env.graph, { defaultParallelism: 2, maxParallelism: 128 }).vertices.map((v) => v.name);
    };
    assert.deepEqual(shape(false, 2), ['src -> (m0 -> s0, m1 -> s1)']);
    assert.deepEqual(shape(true, 2), ['src -> m1 -> s1', 'm0 -> s0'], 'its siblings would see the record it changes');
    assert.deepEqual(shape(true, 1), ['src -> m0 -> s0'], 'alone, it has the record to itself');
  });

  it('every branch gets what a fault-free run gives, counted per chained operator', async () => {
    const { result, out, sums } = await run({});
    assertOutputs(out, sums, 'fault-free');
    const records = Object.fromEntries(result.operators.map((o) => [o.uid, [o.recordsIn, o.recordsOut]]));
    for (const uid of ['restamp', 'double', 'faults', 'stamp', 'narrow']) assert.deepEqual(records[uid], [COUNT, COUNT], uid);
    assert.equal(records['events'][1], COUNT, 'records out of the source (to all its branches) counted once each');
  });

  it('exactly-once under faults, with unaligned checkpoints while the chain is backpressured', async () => {
    // Attempt 0: 'faults' (chained beside the others) throws; 1: its worker exits.
    // Not paced: the running sum's 150 µs a record holds the source back (about 6,700 records a
    // second per subtask), so its hash edge is full when barriers pass; small batches, so the
    // source is held back after a few polls and each fault comes well after a checkpoint.
    const { result, out, sums } = await run(
      { unaligned: true, ringCapacity: 16 * 1024, batchSize: 64 },
      { faults: 'map@800,exit@800', slowUs: '150', rate: '' },
    );
    assert.equal(result.restarts, 2, 'both faults fired');
    assertOutputs(out, sums, 'under faults');
    assert.ok(
      result.checkpoints.some((c) => c.unaligned && c.inFlightBytes > 0),
      `some checkpoint stored in-flight data: ${JSON.stringify(result.checkpoints.map((c) => [c.id, c.unaligned, c.inFlightBytes]))}`,
    );
  });
});
