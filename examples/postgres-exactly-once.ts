// Exactly-once into PostgreSQL: generated records { seq, key, value } → a keyed running sum →
// one row (seq, key, sum, n) per record, written through PREPARE TRANSACTION / COMMIT PREPARED.
// The table is created if missing, without a unique constraint, so a duplicate would show.
//
//   eddy run examples/postgres-exactly-once.ts --checkpoint-dir chk \
//     --arg pg=postgres://postgres@127.0.0.1:5432/postgres --arg table=sums \
//     --arg count=100000 --arg keys=100 [--arg rate=20000]
//
// The server needs max_prepared_transactions > 0 (see README, "PostgreSQL").
// --arg sink-mode=at-least-once|upsert switches the sink's mode (for comparisons).
import { defineJob, Sinks, Sources, type PostgresSinkMode } from 'eddy';

interface Event {
  seq: number;
  key: number;
  value: number;
}

export default defineJob((env) => {
  const count = Number(env.arg('count'));
  const keys = Number(env.arg('keys'));
  const rate = env.arg('rate', '') === '' ? undefined : Number(env.arg('rate'));
  const mode = env.arg('sink-mode', 'exactly-once') as PostgresSinkMode;

  env
    .fromSource(Sources.generator<Event>({ count, rate, fn: (seq) => ({ seq, key: seq % keys, value: (seq * 7919) % 1000 }) }), 'events')
    .uid('events')
    // One generator subtask: every key's records then reach the running sum in seq order, so
    // the rows are the same in every run (with several, a key's records would interleave).
    .setParallelism(1)
    .keyBy((e) => e.key)
    .map((e, ctx) => {
      const sum = ctx.state.value<number>('sum');
      const n = ctx.state.value<number>('n');
      const s = (sum.value() ?? 0) + e.value;
      const c = (n.value() ?? 0) + 1;
      sum.update(s);
      n.update(c);
      return { seq: e.seq, key: e.key, sum: s, n: c };
    })
    .uid('running-sum')
    .sinkTo(
      Sinks.postgres({
        connectionString: env.arg('pg'),
        table: env.arg('table'),
        columns: ['seq', 'key', 'sum', 'n'],
        mode,
        key: mode === 'upsert' ? ['seq'] : undefined,
        createIfMissing: `seq bigint NOT NULL, key integer NOT NULL, sum bigint NOT NULL, n integer NOT NULL${mode === 'upsert' ? ', PRIMARY KEY (seq)' : ''}`,
      }),
    )
    .uid('postgres');
});
