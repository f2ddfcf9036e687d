// Scripted changelogs through groupAggregate and topN at parallelism 1, collected in order, for
// the exact sequences of changes Flink's operators emit (changelog-emission.test.ts), per change
// and in mini-batches.
import { defineJob, Sinks, Sources } from '../../../core/index.js';
import { groupAggregate, topN, type ChangeRow } from '../../../core/sql/runtime/index.js';

/** MAX(v) GROUP BY k: the second row leaves MAX unchanged; deleting the max updates; deleting the last row deletes. */
export const AGG_INPUT: ChangeRow[] = [
  { kind: '+I', row: { k: 'a', v: 5 } },
  { kind: '+I', row: { k: 'a', v: 3 } },
  { kind: '-D', row: { k: 'a', v: 5 } },
  { kind: '-D', row: { k: 'a', v: 3 } },
];

/** MIN(v), MAX(v) GROUP BY k over inserts only (insertOnlyInput: each keeps one value). */
export const APPEND_AGG_INPUT: ChangeRow[] = [
  { kind: '+I', row: { k: 'a', v: 5 } },
  { kind: '+I', row: { k: 'a', v: 3 } },
  { kind: '+I', row: { k: 'a', v: 9 } },
  { kind: '+I', row: { k: 'a', v: 4 } },
];

/** Top 2 by v DESC of one partition over a changelog. */
export const TOPN_INPUT: ChangeRow[] = [
  { kind: '+I', row: { id: 1, v: 10 } },
  { kind: '+I', row: { id: 2, v: 20 } },
  { kind: '+I', row: { id: 3, v: 5 } },
  { kind: '-D', row: { id: 2, v: 20 } },
];

export default defineJob((env) => {
  const agg = groupAggregate(env.fromSource(Sources.fromElements(...AGG_INPUT), 'agg-in').uid('agg-in'), {
    uid: 'agg',
    groupBy: ['k'],
    aggregates: [{ kind: 'max', arg: (r) => r.v, as: 'hi' }],
  });
  agg.sinkTo(Sinks.collect<ChangeRow>()).uid('agg-out');
  groupAggregate(env.fromSource(Sources.fromElements(...APPEND_AGG_INPUT), 'append-agg-in').uid('append-agg-in'), {
    uid: 'append-agg',
    groupBy: ['k'],
    aggregates: [
      { kind: 'min', arg: (r) => r.v, as: 'lo' },
      { kind: 'max', arg: (r) => r.v, as: 'hi' },
    ],
    insertOnlyInput: true,
  })
    .sinkTo(Sinks.collect<ChangeRow>())
    .uid('append-agg-out');
  const top = env.fromSource(Sources.fromElements(...TOPN_INPUT), 'top-in').uid('top-in');
  for (const rn of [true, false]) {
    topN(top, {
      uid: `top-${rn}`,
      partitionBy: () => 0,
      orderBy: [{ value: (r) => r.v, desc: true }],
      n: 2,
      rowNumberColumn: rn ? 'rn' : undefined,
    })
      .sinkTo(Sinks.collect<ChangeRow>())
      .uid(`top-${rn}-out`);
  }
  // Mini-batch: bundles of 2 changes (no checkpoints, and a latency no run reaches), and one bundle of all 4.
  for (const size of [2, 100]) {
    const miniBatch = { size, latencyMs: 60_000 };
    const aggIn = env.fromSource(Sources.fromElements(...AGG_INPUT), `agg-in-${size}`).uid(`agg-in-${size}`);
    groupAggregate(aggIn, { uid: `agg-mb${size}`, groupBy: ['k'], aggregates: [{ kind: 'max', arg: (r) => r.v, as: 'hi' }], miniBatch })
      .sinkTo(Sinks.collect<ChangeRow>())
      .uid(`agg-mb${size}-out`);
  }
  const topIn = env.fromSource(Sources.fromElements(...TOPN_INPUT), 'top-in-mb').uid('top-in-mb');
  for (const rn of [true, false]) {
    topN(topIn, {
      uid: `top-${rn}-mb2`,
      partitionBy: () => 0,
      orderBy: [{ value: (r) => r.v, desc: true }],
      n: 2,
      rowNumberColumn: rn ? 'rn' : undefined,
      miniBatch: { size: 2, latencyMs: 60_000 },
    })
      .sinkTo(Sinks.collect<ChangeRow>())
      .uid(`top-${rn}-mb2-out`);
  }
});
