// The changelog test job: two random changelogs (orders, dims; see ../changelog-inputs.ts), each
// from a generator at parallelism 1 (a changelog's order matters) whose position at every
// checkpoint is logged, into
//   - GROUP BY cat with every aggregate into the upsert JSON-lines sink keyed by cat, and
//   - orders JOIN dims ON cat AND amount < lim, each join type into a retract-mode sink.
// With --arg pg=URL, also GROUP BY bucket (id % BUCKETS) into a PostgreSQL upsert sink (table
// `buckets`), and with --arg joins=no, without the joins. With --arg minibatch=ROWS, also the
// same GROUP BY in mini-batches of ROWS rows (latency 30 ms) into sink `agg-mb`, and the top
// TOP_N orders per cat (ROW_NUMBER() OVER (PARTITION BY cat ORDER BY amount DESC, id)) into
// `top`, an upsert sink keyed by (cat, rn) (per change: Flink never mini-batches a rank).
// --arg n=CHANGES --arg seed=S --arg chunk=RECORDS_PER_CHECKPOINT --arg out=DIR [--arg faults=yes] [--arg pg=URL] [--arg joins=no] [--arg minibatch=ROWS]
// faults=yes: attempt 0 throws in a user function and attempt 1 exits its worker, each a few
// hundred records after a checkpoint completed.
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { defineJob, Sources } from '../../../core/index.js';
import type { RuntimeContext, Collector } from '../../../core/contract/functions.js';
import type { Source } from '../../../core/connectors/types.js';
import type { DataStream } from '../../../core/api/datastream.js';
import {
  groupAggregate,
  postgresUpsertSink,
  regularJoin,
  sinkChangelog,
  topN,
  upsertJsonLinesFile,
  type AggregateSpec,
  type ChangeRow,
  type SortField,
} from '../../../core/sql/runtime/index.js';
import { dimChanges, joinCondition, joinRow, JOIN_TYPES, orderChanges } from '../changelog-inputs.js';

/** Groups of the PostgreSQL aggregate: few enough rows each that some groups empty (a DELETE) and come back. */
export const BUCKETS = 97;

/** Rows per partition of the Top-N sinks. */
export const TOP_N = 3;

/**
 * A generator over `changes` whose position (the next index) at each checkpoint goes to `log`,
 * paced by checkpoints rather than by the clock: it runs at most `chunk` records ahead of the
 * last completed checkpoint, so every run, however busy the machine, completes about
 * changes / chunk checkpoints with output in between.
 */
function changelogSource(changes: ChangeRow[], chunk: number, log: string): Source<ChangeRow> {
  const gen = Sources.generator({ count: changes.length, fn: (i) => changes[i] });
  return {
    ...gen,
    async createReader(ctx) {
      const reader = await gen.createReader(ctx);
      const position = () => (reader.snapshotState!() as { next: number }).next;
      const taken = new Map<number, number>();
      let limit = chunk;
      return {
        idleMs: 5,
        poll(out, max) {
          const allowed = Math.min(max, limit - position());
          if (allowed <= 0) return position() >= changes.length ? reader.poll(out, 1) : 'idle';
          return reader.poll(out, allowed);
        },
        restoreState(s) {
          reader.restoreState?.(s);
          limit = position() + chunk;
        },
        snapshotState(id?: number) {
          const s = reader.snapshotState!(id) as { next: number };
          appendFileSync(log, JSON.stringify({ id, attempt: ctx.attempt, next: s.next }) + '\n');
          if (id !== undefined) taken.set(id, s.next);
          return s;
        },
        notifyCheckpointComplete(id: number) {
          const at = taken.get(id);
          if (at !== undefined) limit = Math.max(limit, at + chunk);
          for (const k of taken.keys()) if (k <= id) taken.delete(k);
        },
      };
    },
  };
}

/** Passes records on; with faults, throws (attempt 0) or exits the worker (attempt 1) `at` records after a checkpoint completed. */
function faultyPassThrough(faults: boolean, at: number) {
  let armed = false;
  let seen = 0;
  return {
    initializeState(_ctx: RuntimeContext, restored: boolean) {
      armed = restored;
    },
    notifyCheckpointComplete() {
      armed = true;
    },
    processElement(c: ChangeRow, ctx: RuntimeContext, out: Collector<ChangeRow>) {
      if (faults && armed && ++seen === at) {
        if (ctx.attempt === 0) throw new Error('injected failure');
        if (ctx.attempt === 1) process.exit(7);
      }
      out.collect(c);
    },
  };
}

export default defineJob((env) => {
  const n = Number(env.arg('n'));
  const seed = Number(env.arg('seed'));
  const chunk = Number(env.arg('chunk'));
  const out = env.arg('out');
  const faults = env.arg('faults', 'no') === 'yes';
  const input = (name: string, changes: ChangeRow[], at: number): DataStream<ChangeRow> =>
    env
      .fromSource(changelogSource(changes, chunk, join(out, `${name}-offsets.jsonl`)), name)
      .uid(name)
      .setParallelism(1)
      .process(faultyPassThrough(faults, at))
      .uid(`${name}-faults`)
      .setParallelism(1);
  const orders = input('orders', orderChanges(seed, n), 80);

  const aggregates: AggregateSpec[] = [
    { kind: 'count*', as: 'n' },
    { kind: 'count', arg: (r) => r.amount, as: 'n_amount' },
    { kind: 'sum', arg: (r) => r.amount, as: 'total' },
    { kind: 'avg', arg: (r) => r.amount, as: 'mean' },
    { kind: 'min', arg: (r) => r.amount, as: 'lo' },
    { kind: 'max', arg: (r) => r.amount, as: 'hi' },
    { kind: 'countDistinct', arg: (r) => r.amount, as: 'distinct_amounts' },
    { kind: 'sum', arg: (r) => r.amount, filter: (r) => r.tag === 'x', as: 'total_x' },
    { kind: 'count*', filter: (r) => (r.amount as number) > 50, as: 'n_big' },
    { kind: 'max', arg: (r) => r.amount, filter: (r) => r.tag === 'y', as: 'hi_y' },
  ];
  const totals = groupAggregate(orders, { uid: 'agg', groupBy: ['cat'], aggregates });
  sinkChangelog(totals, upsertJsonLinesFile(join(out, 'agg'), { key: ['cat'] })).uid('agg-sink');

  const bundleRows = Number(env.arg('minibatch', '0'));
  if (bundleRows > 0) {
    const miniBatch = { size: bundleRows, latencyMs: 30 };
    const batched = groupAggregate(orders, { uid: 'agg-mb', groupBy: ['cat'], aggregates, miniBatch });
    sinkChangelog(batched, upsertJsonLinesFile(join(out, 'agg-mb'), { key: ['cat'] })).uid('agg-mb-sink');
    const orderBy: SortField[] = [{ value: (r) => r.amount, desc: true }, { value: (r) => r.id }];
    const top = topN(orders, { uid: 'top', partitionBy: (r) => r.cat, orderBy, n: TOP_N, rowNumberColumn: 'rn' });
    sinkChangelog(top, upsertJsonLinesFile(join(out, 'top'), { key: ['cat', 'rn'] })).uid('top-sink');
  }

  const pg = env.arg('pg', '');
  if (pg !== '') {
    // At the source's parallelism: a rebalance would reorder the changes of one row.
    const byBucket = groupAggregate(
      orders
        .map((c: ChangeRow): ChangeRow => ({ kind: c.kind, row: { ...c.row, bucket: (c.row.id as number) % BUCKETS } }))
        .uid('bucketed')
        .setParallelism(1),
      {
        uid: 'bucket-agg',
        groupBy: ['bucket'],
        aggregates: [
          { kind: 'count*', as: 'n' },
          { kind: 'sum', arg: (r) => r.amount, as: 'total' },
          { kind: 'min', arg: (r) => r.amount, as: 'lo' },
          { kind: 'max', arg: (r) => r.amount, as: 'hi' },
        ],
      },
    );
    const sink = postgresUpsertSink({
      connectionString: pg,
      table: 'buckets',
      columns: ['bucket', 'n', 'total', 'lo', 'hi'],
      key: ['bucket'],
      createIfMissing: 'bucket integer PRIMARY KEY, n bigint NOT NULL, total bigint, lo integer, hi integer',
    });
    sinkChangelog(byBucket, sink).uid('bucket-sink');
  }

  if (env.arg('joins', 'yes') === 'no') return;
  const dims = input('dims', dimChanges(seed, n), 120);
  for (const type of JOIN_TYPES) {
    const joined = regularJoin(orders, dims, {
      uid: `join-${type}`,
      type,
      leftKey: (o) => o.cat,
      rightKey: (d) => d.cat,
      condition: joinCondition,
      combine: joinRow,
    });
    sinkChangelog(joined, upsertJsonLinesFile(join(out, `join-${type}`))).uid(`join-${type}-sink`);
  }
});
