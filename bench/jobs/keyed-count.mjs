// generator → keyBy → count (value state) → discard: the pipeline benchmark's job.
import { defineJob, Sources, Sinks } from 'eddy';

export default defineJob((env) => {
  const count = Number(env.arg('count', '2000000'));
  const keys = Number(env.arg('keys', '10000'));
  env
    .fromSource(Sources.generator({ count, fn: (i) => ({ key: i % keys, value: i }) }), 'generator').uid('generator')
    .keyBy((r) => r.key)
    .map((r, ctx) => {
      const c = ctx.state.value('count');
      const n = (c.value() ?? 0) + 1;
      c.update(n);
      return n;
    }).uid('count')
    .sinkTo(Sinks.discard()).uid('sink');
});
