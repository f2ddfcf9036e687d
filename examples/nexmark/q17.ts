// Nexmark q17, auction statistics per day: per (auction, day) the bid count, per-band counts,
// min / max / avg (truncated, BIGINT) / sum of price, emitted when the day is complete.
import { defineJob } from 'eddy';
import { band } from './bid-stats.js';
import { day, endOfDay, nexmarkBids, querySink } from './common.js';

/** [rank1, rank2, rank3, min, max, sum] */
type Acc = [number, number, number, number, number, number];

export default defineJob((env) => {
  nexmarkBids(env)
    .keyBy((b) => `${b.auction}/${day(b.dateTime)}`)
    .process<Record<string, unknown>>({
      processElement(b, ctx) {
        const state = ctx.state.value<Acc>('acc');
        const s = state.value() ?? [0, 0, 0, Infinity, -Infinity, 0];
        s[band(b.price)]++;
        if (b.price < s[3]) s[3] = b.price;
        if (b.price > s[4]) s[4] = b.price;
        s[5] += b.price;
        state.update(s);
        ctx.timers.registerEventTimeTimer(endOfDay(b.dateTime));
      },
      onTimer(_ts, ctx, out) {
        const state = ctx.state.value<Acc>('acc');
        const [r1, r2, r3, min, max, sum] = state.value()!;
        const [auction, d] = (ctx.currentKey as string).split('/');
        const n = r1 + r2 + r3;
        out.collect({
          auction: Number(auction),
          day: d,
          total_bids: n,
          rank1_bids: r1,
          rank2_bids: r2,
          rank3_bids: r3,
          min_price: min,
          max_price: max,
          avg_price: Math.trunc(sum / n),
          sum_price: sum,
        });
        state.clear();
      },
    })
    .uid('q17')
    .sinkTo(querySink(env))
    .uid('sink');
});
