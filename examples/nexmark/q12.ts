// Nexmark q12, processing-time windows: bids per bidder in 10 s tumbling windows of the wall
// clock -> (bidder, bid_count, starttime, endtime). Which window a bid lands in depends on when
// it is processed, so only the per-bidder totals are reproducible.
import { defineJob, TumblingProcessingTimeWindows } from 'eddy';
import { nexmarkBids, querySink } from './common.js';

export default defineJob((env) => {
  nexmarkBids(env)
    .keyBy((b) => b.bidder)
    .window(TumblingProcessingTimeWindows.of(10_000))
    .aggregate<number, number, { bidder: number; bid_count: number; starttime: number; endtime: number }>(
      { createAccumulator: () => 0, add: (_b, n) => n + 1, getResult: (n) => n, merge: (a, b) => a + b },
      (bidder, ctx, [n], out) =>
        out.collect({ bidder: bidder as number, bid_count: n, starttime: ctx.window.start, endtime: ctx.window.end }),
    )
    .uid('q12')
    .sinkTo(querySink(env))
    .uid('sink');
});
