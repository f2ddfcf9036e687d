// Nexmark q6, average selling price by seller: AVG(price) OVER (PARTITION BY seller ORDER BY
// dateTime ROWS BETWEEN 10 PRECEDING AND CURRENT ROW) over the winning bids of closed auctions.
// Flink SQL cannot run it (an OVER window cannot consume the join's retractions, FLINK-19059);
// here an auction's winning bid is final when it closes, and each seller's closed auctions are
// put in order (close time, then auction id) by an event-time sort before the running average
// of the last 11 is emitted -> (seller, avg_price), one row per closed auction.
import { defineJob } from 'eddy';
import { nexmarkViews, querySink, winningBids } from './common.js';

const ROWS = 11;

export default defineJob((env) => {
  const { auctions, bids } = nexmarkViews(env);
  winningBids(auctions, bids)
    .uid('winningBids')
    .keyBy((w) => w.auction.seller)
    .process<{ seller: number; avg_price: number }>({
      processElement(w, ctx) {
        // Closed at w.auction.expires (the record's timestamp): sorted by that, then by id.
        const pending = ctx.state.map<number, Array<[number, number]>>('pending');
        const at = pending.get(w.auction.expires) ?? [];
        at.push([w.auction.id, w.bid.price]);
        pending.put(w.auction.expires, at);
        ctx.timers.registerEventTimeTimer(w.auction.expires);
      },
      onTimer(ts, ctx, out) {
        const pending = ctx.state.map<number, Array<[number, number]>>('pending');
        const closed = pending.get(ts)!.sort((a, b) => a[0] - b[0]);
        pending.remove(ts);
        const last = ctx.state.value<number[]>('last');
        const prices = last.value() ?? [];
        for (const [, price] of closed) {
          prices.push(price);
          if (prices.length > ROWS) prices.shift();
          let sum = 0;
          for (const p of prices) sum += p;
          out.collect({ seller: ctx.currentKey as number, avg_price: Math.trunc(sum / prices.length) });
        }
        last.update(prices);
      },
    })
    .uid('q6')
    .sinkTo(querySink(env))
    .uid('sink');
});
