// The graph every bench job shares: generator → keyBy(key) → count per key (value state) → sink.
// `emit(record, count)` is what the count operator passes on.
import { Sources } from 'eddy';

export function keyedCountGraph(env, { count, rate, make, emit, sink }) {
  env
    .fromSource(Sources.generator({ count, ...(rate ? { rate } : {}), fn: make }), 'generator')
    .uid('generator')
    .keyBy((r) => r.key)
    .map((r, ctx) => {
      const c = ctx.state.value('count');
      const n = (c.value() ?? 0) + 1;
      c.update(n);
      return emit(r, n);
    })
    .uid('count')
    .sinkTo(sink)
    .uid('sink');
}
