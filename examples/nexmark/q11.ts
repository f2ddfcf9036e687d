// Nexmark q11, user sessions: bids per bidder in event-time sessions with a 10 s gap ->
// (bidder, bid_count, starttime, endtime = last bid + 10 s).
import { defineJob, EventTimeSessionWindows } from 'eddy';
import { nexmarkBids, querySink } from './common.js';

export default defineJob((env) => {
  nexmarkBids(env)
    .keyBy((b) => b.bidder)
    .window(EventTimeSessionWindows.withGap(10_000))
    .aggregate<number, number, { bidder: number; bid_count: number; starttime: number; endtime: number }>(
      { createAccumulator: () => 0, add: (_b, n) => n + 1, getResult: (n) => n, merge: (a, b) => a + b },
      (bidder, ctx, [n], out) =>
        out.collect({ bidder: bidder as number, bid_count: n, starttime: ctx.window.start, endtime: ctx.window.end }),
    )
    .uid('q11')
    .sinkTo(querySink(env))
    .uid('sink');
});
