// Issue 18's job: a text file of `seq,key,value,ts` lines → parse → keyBy key → running sum and
// count in two value states → JSON-lines file sink. --arg input=FILE --arg output=DIR.
import { defineJob, Sources, Sinks } from 'eddy';

export default defineJob((env) => {
  env
    .fromSource(Sources.textFile(env.arg('input')), 'lines')
    .uid('lines')
    .map((line) => {
      const a = line.indexOf(',');
      const b = line.indexOf(',', a + 1);
      const c = line.indexOf(',', b + 1);
      return { key: Number(line.slice(a + 1, b)), value: Number(line.slice(b + 1, c)) };
    })
    .uid('parse')
    .keyBy((r) => r.key)
    .map((r, ctx) => {
      const sum = ctx.state.value('sum');
      const count = ctx.state.value('count');
      const s = (sum.value() ?? 0) + r.value;
      const n = (count.value() ?? 0) + 1;
      sum.update(s);
      count.update(n);
      return { key: r.key, sum: s, count: n };
    })
    .uid('sum')
    .sinkTo(Sinks.jsonLinesFile(env.arg('output')))
    .uid('sink');
});
