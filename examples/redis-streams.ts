// Redis Streams end to end, exactly-once: reads stream --arg in on --arg redis (a URL) up to
// the last entry present at the start, keeps a running count per `key` field (keyed state),
// and appends one entry per input to stream --arg out: { key, count, source } where source is
// the input entry's id. The output is exactly-once across failures and `--resume latest`: the
// source rewinds to the checkpointed entry id, the sink commits each checkpoint's entries with
// one atomic Lua script per chunk and a ledger, so no entry is lost or written twice.
//
//   redis-cli XADD clicks '*' key a     (a few times, with a few keys)
//   npx eddy run examples/redis-streams.ts --arg redis=redis://127.0.0.1:6379 --arg in=clicks --arg out=clicks:counts
//   redis-cli XRANGE clicks:counts - +
import { defineJob, Sources, Sinks, type RedisStreamEntry } from 'eddy';

export default defineJob((env) => {
  const url = env.arg('redis');
  env
    .fromSource(Sources.redisStream({ url, stream: env.arg('in') }), 'in')
    .uid('in')
    .keyBy((e: RedisStreamEntry) => e.fields.key ?? '')
    .map((e: RedisStreamEntry, ctx) => {
      const count = ctx.state.value<number>('count');
      const n = (count.value() ?? 0) + 1;
      count.update(n);
      return { key: e.fields.key ?? '', count: n, source: e.id };
    })
    .uid('count')
    .sinkTo(Sinks.redisStream({ url, stream: env.arg('out') }))
    .uid('out');
});
