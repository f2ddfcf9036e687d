// generator → keyBy → count → a slow sink (busy-waits `spinUs` µs per record): the source runs
// far ahead of the sink, so the rings fill and the job runs under backpressure.
import { defineJob } from 'eddy';
import { keyedCountGraph } from './keyed-count-graph.mjs';

export default defineJob((env) => {
  const count = Number(env.arg('count', '200000'));
  const keys = Number(env.arg('keys', '10000'));
  const spinUs = Number(env.arg('spinUs', '5'));
  const slow = {
    kind: 'slow',
    stateful: false,
    createWriter() {
      return {
        write() {
          const until = performance.now() + spinUs / 1000;
          while (performance.now() < until);
        },
        finish() {},
      };
    },
  };
  keyedCountGraph(env, { count, make: (i) => ({ key: i % keys, value: i }), emit: (_r, n) => n, sink: slow });
});
