// Nexmark q19, auction Top-10 price: per auction the 10 highest bids (price DESC; ties by
// dateTime, then bidder, then extra, so ranks are unique) with rank_number 1 … 10. The SQL
// result is an updating Top-N; this job emits each auction's final ten at the end of the input.
import { defineJob } from 'eddy';
import { END_OF_INPUT, better, nexmarkBids, querySink, type Bid } from './common.js';

const N = 10;

export default defineJob((env) => {
  nexmarkBids(env)
    .keyBy((b) => b.auction)
    .process<Bid & { rank_number: number }>({
      processElement(b, ctx) {
        const state = ctx.state.value<Bid[]>('top');
        const top = state.value();
        if (top === undefined) {
          ctx.timers.registerEventTimeTimer(END_OF_INPUT);
          state.update([b]);
          return;
        }
        if (top.length === N && !better(b, top[N - 1])) return;
        let i = top.length;
        while (i > 0 && better(b, top[i - 1])) i--;
        top.splice(i, 0, b);
        if (top.length > N) top.pop();
        state.update(top);
      },
      onTimer(_ts, ctx, out) {
        const top = ctx.state.value<Bid[]>('top').value()!;
        top.forEach((b, i) =>
          out.collect({
            auction: b.auction,
            bidder: b.bidder,
            price: b.price,
            channel: b.channel,
            url: b.url,
            dateTime: b.dateTime,
            extra: b.extra,
            rank_number: i + 1,
          }),
        );
      },
    })
    .uid('q19')
    .sinkTo(querySink(env))
    .uid('sink');
});
