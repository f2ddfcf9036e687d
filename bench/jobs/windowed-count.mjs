// generator (event time) → keyBy → windowed count → discard: the windows benchmark's job.
// --arg window=none|tumbling|sliding: none is the plain keyed count (value state) on the same
// timestamped stream, so the three differ only in the operator.
import { defineJob, Sources, Sinks, WatermarkStrategy, TumblingEventTimeWindows, SlidingEventTimeWindows } from 'eddy';

export default defineJob((env) => {
  const count = Number(env.arg('count', '2000000'));
  const keys = Number(env.arg('keys', '10000'));
  const window = env.arg('window', 'tumbling');
  // 1 ms of event time per record, up to 50 ms out of order.
  const events = env
    .fromSource(
      Sources.generator({ count, fn: (i) => ({ key: i % keys, ts: i - ((i * 7919) % 50) }) }),
      'generator',
      WatermarkStrategy.forBoundedOutOfOrderness(50).withTimestampAssigner((r) => r.ts),
    )
    .uid('generator')
    .keyBy((r) => r.key);
  const counted =
    window === 'none'
      ? events.map((r, ctx) => {
          const c = ctx.state.value('count');
          const n = (c.value() ?? 0) + 1;
          c.update(n);
          return n;
        })
      : events
          .window(
            window === 'sliding'
              ? SlidingEventTimeWindows.of(Number(env.arg('size', '100000')), Number(env.arg('slide', '25000')))
              : TumblingEventTimeWindows.of(Number(env.arg('size', '100000'))),
          )
          // merge lets sliding windows combine slices (each record updates one slice, as Flink SQL's window slicing).
          .aggregate({ createAccumulator: () => 0, add: (_r, n) => n + 1, getResult: (n) => n, merge: (a, b) => a + b });
  counted.uid('count').sinkTo(Sinks.discard()).uid('sink');
});
