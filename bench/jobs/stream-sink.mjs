// Sink throughput job: generated records { i, key, v } → keyBy → running count → a sink chosen by
// --arg sink=discard|redis|jetstream in --arg sink-mode=exactly-once|at-least-once.
//   --arg count=N --arg keys=K --arg redis=URL --arg stream=KEY --arg nats=URL --arg subject=S
import { defineJob, Sinks, Sources } from 'eddy';

export default defineJob((env) => {
  const count = Number(env.arg('count'));
  const keys = Number(env.arg('keys'));
  const kind = env.arg('sink');
  const mode = env.arg('sink-mode', 'exactly-once');
  const sink =
    kind === 'redis'
      ? Sinks.redisStream({ url: env.arg('redis'), stream: env.arg('stream'), mode })
      : kind === 'jetstream'
        ? Sinks.jetstream({ url: env.arg('nats'), subject: env.arg('subject'), mode })
        : Sinks.discard();
  env
    .fromSource(Sources.generator({ count, fn: (i) => ({ i, key: i % keys, v: i & 1023 }) }), 'events')
    .uid('events')
    .keyBy((r) => r.key)
    .map((r, ctx) => {
      const c = ctx.state.value('n');
      const n = (c.value() ?? 0) + 1;
      c.update(n);
      return { i: r.i, key: r.key, n };
    })
    .uid('count')
    .sinkTo(sink)
    .uid('sink');
});
