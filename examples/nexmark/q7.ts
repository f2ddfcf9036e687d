// Nexmark q7, highest bid: MAX(price) per 10 s tumbling window, joined back to the bids with
// that price and B.dateTime BETWEEN window_end - 10 s AND window_end (both ends included, so a
// bid exactly at window_end is also a candidate of the window before). Columns as the SELECT
// names them: (auction, price, bidder, dateTime, extra).
import { defineJob } from 'eddy';
import { nexmarkBids, querySink, type Bid } from './common.js';

const SIZE = 10_000;

interface Candidate {
  /** Start of the window whose candidates this bid is among. */
  start: number;
  /** False for a bid at the window's end: it is a candidate there, but not in its MAX. */
  member: boolean;
  bid: Bid;
}

export default defineJob((env) => {
  nexmarkBids(env)
    .flatMap<Candidate>((bid, out) => {
      const start = bid.dateTime - (bid.dateTime % SIZE);
      out.collect({ start, member: true, bid });
      if (bid.dateTime === start) out.collect({ start: start - SIZE, member: false, bid });
    })
    .uid('candidates')
    .keyBy((c) => c.start)
    .process<{ auction: number; price: number; bidder: number; dateTime: number; extra: string }>({
      processElement(c, ctx) {
        // Per window the members at the highest price so far (their max is the window's MAX)
        // and, apart, the bids at the window's end: they match only if they equal the final
        // MAX, which only grows from the running one, so every edge bid at or above it is kept
        // (not only the highest: the MAX may end between two edge prices). They are few.
        const top = ctx.state.list<Bid>('top');
        const topPrice = top.get()[0]?.price ?? -1;
        if (!c.member) {
          if (c.bid.price >= topPrice) ctx.state.list<Bid>('edge').add(c.bid);
        } else if (c.bid.price > topPrice) top.update([c.bid]);
        else if (c.bid.price === topPrice) top.add(c.bid);
        ctx.timers.registerEventTimeTimer(c.start + SIZE);
      },
      onTimer(_ts, ctx, out) {
        const top = ctx.state.list<Bid>('top');
        const edge = ctx.state.list<Bid>('edge');
        const members = top.get();
        if (members.length > 0) {
          const max = members[0].price;
          const emit = (b: Bid) =>
            out.collect({ auction: b.auction, price: b.price, bidder: b.bidder, dateTime: b.dateTime, extra: b.extra });
          for (const b of members) emit(b);
          for (const b of edge.get()) if (b.price === max) emit(b);
        }
        top.clear();
        edge.clear();
      },
    })
    .uid('q7')
    .sinkTo(querySink(env))
    .uid('sink');
});
