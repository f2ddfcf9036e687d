// Nexmark q5, hot items: bids counted per auction in sliding windows (10 s every 2 s), and the
// auctions whose count is the window's maximum -> (auction, num). The second stage gathers a
// window's counts keyed by the window and picks the maximum when the watermark passes its end.
// Bids are cut to (auction, dateTime) before the keyBy, as Beam's Query5 maps bids to auction
// ids first: whole bids (url, extra) across the shuffle would be most of the job's cost.
import { defineJob, SlidingEventTimeWindows } from 'eddy';
import { nexmarkBids, querySink } from './common.js';

interface AuctionCount {
  auction: number;
  num: number;
  end: number;
}

export default defineJob((env) => {
  nexmarkBids(env)
    .map((b) => ({ auction: b.auction, dateTime: b.dateTime }))
    .uid('bidAuctions')
    .keyBy((b) => b.auction)
    .window(SlidingEventTimeWindows.of(10_000, 2_000))
    .aggregate<number, number, AuctionCount>(
      { createAccumulator: () => 0, add: (_b, n) => n + 1, getResult: (n) => n, merge: (a, b) => a + b },
      (auction, ctx, [num], out) => out.collect({ auction: auction as number, num, end: ctx.window.end }),
    )
    .uid('auctionBids')
    .keyBy((c) => c.end)
    .process<{ auction: number; num: number }>({
      processElement(c, ctx) {
        ctx.state.list<[number, number]>('counts').add([c.auction, c.num]);
        ctx.timers.registerEventTimeTimer(c.end - 1);
      },
      onTimer(_ts, ctx, out) {
        const counts = ctx.state.list<[number, number]>('counts');
        let max = 0;
        for (const [, num] of counts.get()) if (num > max) max = num;
        for (const [auction, num] of counts.get()) if (num >= max) out.collect({ auction, num });
        counts.clear();
      },
    })
    .uid('maxBids')
    .sinkTo(querySink(env))
    .uid('sink');
});
