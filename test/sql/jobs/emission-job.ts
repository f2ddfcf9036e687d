// Scripted changelogs through groupAggregate and topN at parallelism 1, collected in order, for
// the exact sequences of changes Flink's operators emit (changelog-emission.test.ts), per change
// and (the aggregate) in mini-batches.
import { defineJob, Sinks, Sources } from '../../../core/index.js';
import { appendOnlyTopN, groupAggregate, topN, type ChangeRow, type Row } from '../../../core/sql/runtime/index.js';
import { prng } from '../../helpers/prng.js';

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

/**
 * Top by v DESC per partition p over inserts only: a worse row, a row equal to the top (the
 * first to come keeps its rank), a better one, and a second partition in between.
 */
export const APPEND_TOP_INPUT: Row[] = [
  { p: 'a', id: 1, v: 10 },
  { p: 'a', id: 2, v: 7 },
  { p: 'a', id: 3, v: 10 },
  { p: 'b', id: 4, v: 1 },
  { p: 'a', id: 5, v: 12 },
  { p: 'a', id: 6, v: 11 },
  { p: 'b', id: 7, v: 1 },
];

/** 300 rows over 7 partitions with values 0 … 5, so ties with the top are common. */
export function randomTopInput(): Row[] {
  const r = prng(0x7091);
  return Array.from({ length: 300 }, (_, id) => ({ p: Math.floor(r() * 7), id, v: Math.floor(r() * 6) }));
}

/** Rows per bundle of the mini-batched Top-1 (a deduplication). */
export const DEDUP_BUNDLE = 16;

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
  // Append-only Top-1 and Top-2, with and without the row number (plain rows in, as the planner sends them).
  for (const [name, input] of [
    ['append-top', APPEND_TOP_INPUT],
    ['random-top', randomTopInput()],
  ] as const) {
    const rows = env.fromSource(Sources.fromElements(...input), `${name}-in`).uid(`${name}-in`);
    for (const n of [1, 2]) {
      for (const rn of [true, false]) {
        appendOnlyTopN(rows, {
          uid: `${name}${n}-${rn}`,
          partitionBy: (r) => r.p,
          orderBy: [{ value: (r) => r.v, desc: true }],
          n,
          rowNumberColumn: rn ? 'rn' : undefined,
        })
          .sinkTo(Sinks.collect<ChangeRow>())
          .uid(`${name}${n}-${rn}-out`);
      }
    }
  }
  // A Top-1 as a deduplication (the planner's case for ORDER BY a time attribute) in bundles of DEDUP_BUNDLE rows.
  const dedupIn = env.fromSource(Sources.fromElements(...randomTopInput()), 'dedup-in').uid('dedup-in');
  appendOnlyTopN(dedupIn, {
    uid: 'dedup-mb',
    partitionBy: (r) => r.p,
    orderBy: [{ value: (r) => r.v, desc: true }],
    n: 1,
    miniBatch: { size: DEDUP_BUNDLE, latencyMs: 60_000 },
  })
    .sinkTo(Sinks.collect<ChangeRow>())
    .uid('dedup-mb-out');
});
