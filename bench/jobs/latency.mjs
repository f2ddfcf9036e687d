// generator (optionally rate-limited) → keyBy → count → a sink that measures, per record, the
// time from the source's emit timestamp to the sink, into a histogram of 10 µs buckets that it
// writes to `<out>-<subtask>.json` at the end. Timestamps are performance.timeOrigin +
// performance.now(), comparable across the threads of one process. Records with an index below
// `skip` (the warm-up) are not measured.
import { writeFileSync } from 'node:fs';
import { defineJob } from 'eddy';
import { keyedCountGraph } from './keyed-count-graph.mjs';

const BUCKET_US = 10;
const BUCKETS = 100_000; // 1 s; slower records land in the last bucket

const now = () => performance.timeOrigin + performance.now();

export default defineJob((env) => {
  const count = Number(env.arg('count', '1000000'));
  const keys = Number(env.arg('keys', '10000'));
  const rate = env.arg('rate', '') === '' ? undefined : Number(env.arg('rate'));
  const skip = Number(env.arg('skip', '0'));
  const out = env.arg('out');
  const latencySink = {
    kind: 'latency',
    stateful: false,
    createWriter(ctx) {
      const hist = new Uint32Array(BUCKETS);
      let measured = 0;
      return {
        write(r) {
          if (r.i < skip) return;
          const us = (now() - r.t) * 1000;
          const b = us <= 0 ? 0 : Math.floor(us / BUCKET_US);
          hist[b < BUCKETS ? b : BUCKETS - 1]++;
          measured++;
        },
        finish() {
          const buckets = {};
          for (let b = 0; b < BUCKETS; b++) if (hist[b] > 0) buckets[b] = hist[b];
          writeFileSync(`${out}-${ctx.subtaskIndex}.json`, JSON.stringify({ bucketUs: BUCKET_US, measured, buckets }));
        },
      };
    },
  };
  keyedCountGraph(env, { count, rate, make: (i) => ({ key: i % keys, i, t: now() }), emit: (r) => r, sink: latencySink });
});
