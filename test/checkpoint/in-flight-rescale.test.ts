// test-lane: pair
/**
 * Which in-flight data of an unaligned checkpoint restores into the job as it runs now, and
 * the one-line refusals where it cannot be right: the plan built on the main thread from the
 * checkpoint's handles (as the tasks describe their edges) and the job graph of the new run.
 *
 * The handles are made here from the graph that "took" the checkpoint, with data on the edges
 * a case chooses; the real writer's handles are exercised by test/cli/unaligned-rescale.test.ts.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { defineJob } from '../../core/api/job.js';
import { Sinks, Sources } from '../../core/connectors/index.js';
import type { ChannelStateHandle } from '../../core/checkpoint/metadata.js';
import { EddyError } from '../../core/failure.js';
import type { JobEdge } from '../../core/graph/job-graph.js';
import { describeEdge, planInFlightRestore } from '../../core/runtime/in-flight-rescale.js';
import { planJob, type JobPlan } from '../../core/runtime/job-plan.js';

const WHERE = 'checkpoint 4 in /tmp/chk';

/**
 * One source feeding a forward edge (into an operator that also reads an empty second source:
 * with two inputs it is not chained), a rebalance edge and a hash edge.
 */
const mixed = defineJob((env) => {
  const events = env.fromSource(Sources.generator({ count: 10, fn: (i) => ({ i, key: i % 3 }) }), 'events').uid('events');
  const none = env.fromSource(Sources.generator({ count: 0, fn: (i) => ({ i, key: 0 }) }), 'none').uid('none');
  events
    .union(none)
    .map((x) => x)
    .uid('slow')
    .sinkTo(Sinks.discard())
    .uid('sink-a');
  events
    .rebalance()
    .map((x) => x)
    .uid('spread')
    .sinkTo(Sinks.discard())
    .uid('sink-b');
  events
    .keyBy((x) => x.key)
    .map((x) => x)
    .uid('count')
    .sinkTo(Sinks.discard())
    .uid('sink-c');
});

const broadcastRules = defineJob((env) => {
  const events = env.fromSource(Sources.generator({ count: 10, fn: (i) => ({ i, key: i % 3 }) }), 'events').uid('events');
  const rules = env
    .fromSource(Sources.generator({ count: 2, fn: (i) => i }), 'rules')
    .uid('rules')
    .setParallelism(1);
  events
    .keyBy((e) => e.key)
    .connect(rules.broadcast())
    .process({ processElement: (e, _ctx, out) => out.collect(e), processBroadcastElement: () => {} })
    .uid('apply')
    .sinkTo(Sinks.discard())
    .uid('out');
});

/** The source runs at parallelism 2 whatever --parallelism says: at 2 the map chains to it, at 3 it does not. */
const pinnedSource = defineJob((env) => {
  env
    .fromSource(Sources.generator({ count: 10, fn: (i) => i }), 'events')
    .uid('events')
    .setParallelism(2)
    .map((x) => x)
    .uid('work')
    .sinkTo(Sinks.discard())
    .uid('sink');
});

const plan = (job: ReturnType<typeof defineJob>, parallelism: number): JobPlan => planJob(job, {}, { parallelism });

/**
 * A handle per task of `old`'s graph that consumes an edge `withData` picks (the input state
 * stored there; a task with nothing in flight writes no file), describing all its edges.
 */
function handles(old: JobPlan, withData: (e: JobEdge) => boolean): ChannelStateHandle[] {
  const g = old.jobGraph;
  return g.vertices
    .filter((v) => v.inputs.some(withData))
    .flatMap((v) =>
      Array.from({ length: v.parallelism }, (_, subtask) => ({
        vertexId: v.id,
        vertex: v.name,
        subtask,
        parallelism: v.parallelism,
        file: { file: `chk-4/${v.id}-${subtask}-channels.bin`, bytes: 1, checksum: 'crc32:00000000' },
        bytes: 1,
        edges: [...v.inputs, ...v.outputs].map((e) => describeEdge(g, e, e.to === v.id && withData(e) ? 100 : 0)),
      })),
    );
}

function refusal(f: () => unknown): EddyError {
  try {
    f();
  } catch (err) {
    assert.ok(err instanceof EddyError, String(err));
    assert.equal(err.code, 'STATE_NOT_RESTORED');
    assert.equal(err.message.includes('\n'), false, 'one line');
    assert.match(err.message, /take a savepoint \(always aligned, so it holds no in-flight data\) and rescale from that$/);
    return err;
  }
  assert.fail('expected a refusal');
}

const partitionerOf = (p: JobPlan, uid: string) => p.jobGraph.edges.find((e) => p.graph.nodes[e.toNode].uid === uid)!;

test('at the same parallelism every edge restores as it was', () => {
  const old = plan(mixed, 2);
  const edges = planInFlightRestore(
    WHERE,
    handles(old, () => true),
    plan(mixed, 2).jobGraph,
  )!;
  assert.deepEqual(
    edges.map((e) => e.mode),
    ['same', 'same', 'same', 'same'],
  );
  assert.deepEqual(
    edges.map((e) => e.stored),
    edges.map((e) => e.edge),
  );
});

test('at another parallelism hash and rebalance edges are re-dealt; a forward edge without stored data is no obstacle', () => {
  const old = plan(mixed, 2);
  const now = plan(mixed, 3);
  const edges = planInFlightRestore(
    WHERE,
    handles(old, (e) => e.partitioner !== 'forward'),
    now.jobGraph,
  )!;
  const modeInto = (uid: string) => edges.find((e) => e.edge === partitionerOf(now, uid).id)?.mode;
  assert.equal(modeInto('count'), 'hash');
  assert.equal(modeInto('spread'), 'rebalance');
  assert.equal(modeInto('slow'), undefined, 'nothing to restore on the forward edge');
});

test('a forward edge holding in-flight data whose ends change parallelism is refused, naming the edge and its operator', () => {
  const err = refusal(() =>
    planInFlightRestore(
      WHERE,
      handles(plan(mixed, 2), (e) => e.partitioner === 'forward'),
      plan(mixed, 3).jobGraph,
    ),
  );
  assert.equal(err.operatorUid, 'slow');
  assert.match(
    err.message,
    /^checkpoint 4 in \/tmp\/chk holds in-flight data on the forward edge 'events' -> 'slow' \(at parallelism 2 -> 2, the job runs 3 -> 3\): a forward edge's records belong to the subtask beside their producer/,
  );
});

test('a broadcast edge holding in-flight data is refused at another parallelism', () => {
  const err = refusal(() =>
    planInFlightRestore(
      WHERE,
      handles(plan(broadcastRules, 2), (e) => e.partitioner === 'broadcast'),
      plan(broadcastRules, 3).jobGraph,
    ),
  );
  assert.equal(err.operatorUid, 'apply');
  assert.match(
    err.message,
    /on the broadcast edge 'rules' -> 'apply' \(at parallelism 1 -> 2, the job runs 1 -> 3\): every consumer must see the same records/,
  );
});

test('in-flight data of a task the job no longer has (operators chained differently) is refused', () => {
  // At 3 the map is its own task behind a rebalance edge; at 2 it chains into the source's.
  const err = refusal(() =>
    planInFlightRestore(
      WHERE,
      handles(plan(pinnedSource, 3), () => true),
      plan(pinnedSource, 2).jobGraph,
    ),
  );
  assert.match(err.message, /holds in-flight data of 'work -> sink' \(an unaligned checkpoint\), a task this job does not have/);
});

test('a checkpoint whose handles do not describe their edges restores only at the same parallelism', () => {
  const bare = handles(plan(mixed, 2), () => true).map(({ edges: _edges, ...h }) => h);
  assert.equal(planInFlightRestore(WHERE, bare, plan(mixed, 2).jobGraph), undefined);
  const err = refusal(() => planInFlightRestore(WHERE, bare, plan(mixed, 3).jobGraph));
  assert.match(
    err.message,
    /of 'slow -> sink-a' at parallelism 2 \(an unaligned checkpoint\) without the edge descriptions a rescale needs; the job runs it at parallelism 3/,
  );
});
