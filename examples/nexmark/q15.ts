// Nexmark q15, bidding statistics per day: counts and distinct bidders / auctions, in total and
// per price band. The SQL result is an updating table; a day's row is final once the watermark
// passes the day's end, and that is when this job emits it.
import { defineJob } from 'eddy';
import { addBid, emptyStats, statsColumns, type BidStats } from './bid-stats.js';
import { day, endOfDay, nexmarkBids, querySink } from './common.js';

export default defineJob((env) => {
  nexmarkBids(env)
    .keyBy((b) => day(b.dateTime))
    .process<Record<string, unknown>>({
      processElement(b, ctx) {
        const state = ctx.state.value<BidStats>('stats');
        const s = state.value() ?? emptyStats();
        addBid(s, b.bidder, b.auction, b.price);
        state.update(s);
        ctx.timers.registerEventTimeTimer(endOfDay(b.dateTime));
      },
      onTimer(_ts, ctx, out) {
        const state = ctx.state.value<BidStats>('stats');
        out.collect({ day: ctx.currentKey, ...statsColumns(state.value()!) });
        state.clear();
      },
    })
    .uid('q15')
    .sinkTo(querySink(env))
    .uid('sink');
});
