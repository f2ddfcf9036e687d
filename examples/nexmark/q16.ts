// Nexmark q16, channel statistics per day: q15's columns per (channel, day) plus the latest
// minute (max HH:mm) of the group, emitted when the watermark passes the day's end.
import { defineJob } from 'eddy';
import { addBid, emptyStats, statsColumns, type BidStats } from './bid-stats.js';
import { day, endOfDay, hourMinute, nexmarkBids, querySink } from './common.js';

export default defineJob((env) => {
  nexmarkBids(env)
    .keyBy((b) => `${b.channel}\u0000${day(b.dateTime)}`)
    .process<Record<string, unknown>>({
      processElement(b, ctx) {
        const state = ctx.state.value<BidStats & { minute: string }>('stats');
        const s = state.value() ?? { ...emptyStats(), minute: '' };
        addBid(s, b.bidder, b.auction, b.price);
        const m = hourMinute(b.dateTime);
        if (m > s.minute) s.minute = m;
        state.update(s);
        ctx.timers.registerEventTimeTimer(endOfDay(b.dateTime));
      },
      onTimer(_ts, ctx, out) {
        const state = ctx.state.value<BidStats & { minute: string }>('stats');
        const s = state.value()!;
        const [channel, d] = (ctx.currentKey as string).split('\u0000');
        out.collect({ channel, day: d, minute: s.minute, ...statsColumns(s) });
        state.clear();
      },
    })
    .uid('q16')
    .sinkTo(querySink(env))
    .uid('sink');
});
