// The Nexmark generator alone: Sources.nexmark → a discarding sink (chained, no shuffle).
import { defineJob, Sources, Sinks } from 'eddy';

export default defineJob((env) => {
  env
    .fromSource(Sources.nexmark({ events: Number(env.arg('events')), rate: Number(env.arg('rate')) }), 'nexmark')
    .uid('nexmark')
    .sinkTo(Sinks.discard())
    .uid('sink');
});
