// Nexmark q4, average price per category: the winning (highest valid) bid of every auction,
// then AVG(final) per category (BIGINT AVG: truncated). Flink's SQL result is an updating
// table; this job emits its final rows: an auction's max once it closes (expires), a category's
// average once the input ends. Columns as q4's sink: (id = category, final = average).
import { defineJob } from 'eddy';
import { END_OF_INPUT, nexmarkViews, querySink, winningBids } from './common.js';

export default defineJob((env) => {
  const { auctions, bids } = nexmarkViews(env);
  winningBids(auctions, bids)
    .uid('winningBids')
    .keyBy((w) => w.auction.category)
    .process<{ id: number; final: number }>({
      processElement(w, ctx) {
        const s = ctx.state.value<[number, number]>('sumCount');
        const [sum, n] = s.value() ?? [0, 0];
        s.update([sum + w.bid.price, n + 1]);
        ctx.timers.registerEventTimeTimer(END_OF_INPUT);
      },
      onTimer(_ts, ctx, out) {
        const [sum, n] = ctx.state.value<[number, number]>('sumCount').value()!;
        out.collect({ id: ctx.currentKey as number, final: Math.trunc(sum / n) });
      },
    })
    .uid('q4')
    .sinkTo(querySink(env))
    .uid('sink');
});
