// Nexmark q18, find last bid: per (bidder, auction) the bid with the latest dateTime (ties
// broken by price, then extra, then url, so the row is unique). The SQL result is an updating
// deduplication; this job emits each key's final row at the end of the input.
import { defineJob } from 'eddy';
import { END_OF_INPUT, nexmarkBids, querySink, type Bid } from './common.js';

function later(b: Bid, than: Bid): boolean {
  if (b.dateTime !== than.dateTime) return b.dateTime > than.dateTime;
  if (b.price !== than.price) return b.price > than.price;
  return b.extra + b.url > than.extra + than.url;
}

export default defineJob((env) => {
  nexmarkBids(env)
    .keyBy((b) => `${b.bidder}/${b.auction}`)
    .process<Bid>({
      processElement(b, ctx) {
        const last = ctx.state.value<Bid>('last');
        const cur = last.value();
        if (cur === undefined) ctx.timers.registerEventTimeTimer(END_OF_INPUT);
        if (cur === undefined || later(b, cur)) last.update(b);
      },
      onTimer(_ts, ctx, out) {
        const b = ctx.state.value<Bid>('last').value()!;
        out.collect({
          auction: b.auction,
          bidder: b.bidder,
          price: b.price,
          channel: b.channel,
          url: b.url,
          dateTime: b.dateTime,
          extra: b.extra,
        });
      },
    })
    .uid('q18')
    .sinkTo(querySink(env))
    .uid('sink');
});
