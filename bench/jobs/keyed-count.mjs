// generator (optionally rate-limited: --arg rate=N records/s over all subtasks) → keyBy → count
// (value state) → discard: the pipeline benchmark's job.
import { defineJob, Sinks } from 'eddy';
import { keyedCountGraph } from './keyed-count-graph.mjs';

export default defineJob((env) => {
  const keys = Number(env.arg('keys', '10000'));
  const rate = env.arg('rate', '') === '' ? undefined : Number(env.arg('rate'));
  keyedCountGraph(env, {
    count: Number(env.arg('count', '2000000')),
    rate,
    make: (i) => ({ key: i % keys, value: i }),
    emit: (_r, n) => n,
    sink: Sinks.discard(),
  });
});
