// Word count: lines → words → count per word (keyed state) → JSON lines in a two-phase-commit
// file sink. Run it with: npm run example
import { defineJob, Sources, Sinks } from 'eddy';

export default defineJob((env) => {
  env
    .fromSource(Sources.textFile(env.arg('input')), 'lines')
    .uid('lines')
    .flatMap((line: string, out) => {
      for (const w of line.toLowerCase().split(/\W+/)) if (w) out.collect(w);
    })
    .uid('split')
    .keyBy((w) => w)
    .map((w, ctx) => {
      const count = ctx.state.value<number>('count');
      const n = (count.value() ?? 0) + 1;
      count.update(n);
      return { word: w, count: n };
    })
    .uid('count')
    .sinkTo(Sinks.jsonLinesFile(env.arg('output')))
    .uid('sink');
});
