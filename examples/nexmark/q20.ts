// Nexmark q20, expand bid with auction: every bid joined with its auction when the auction's
// category is 10, all columns of both (bid dateTime / extra as bid_dateTime / bid_extra, the
// auction's as auction_dateTime / auction_extra). A regular inner join: bids that come before
// their auction wait in keyed state.
import { defineJob } from 'eddy';
import { nexmarkViews, querySink, type Auction, type Bid } from './common.js';

function joined(b: Bid, a: Auction) {
  return {
    auction: b.auction,
    bidder: b.bidder,
    price: b.price,
    channel: b.channel,
    url: b.url,
    bid_dateTime: b.dateTime,
    bid_extra: b.extra,
    itemName: a.itemName,
    description: a.description,
    initialBid: a.initialBid,
    reserve: a.reserve,
    auction_dateTime: a.dateTime,
    expires: a.expires,
    seller: a.seller,
    category: a.category,
    auction_extra: a.extra,
  };
}

export default defineJob((env) => {
  const { auctions, bids } = nexmarkViews(env);
  bids
    .connect(auctions.filter((a) => a.category === 10).uid('category10'))
    .keyBy(
      (b) => b.auction,
      (a) => a.id,
    )
    .process<ReturnType<typeof joined>>({
      processElement1(b: Bid, ctx, out) {
        const a = ctx.state.value<Auction>('auction').value();
        if (a) out.collect(joined(b, a));
        else ctx.state.list<Bid>('bids').add(b);
      },
      processElement2(a: Auction, ctx, out) {
        ctx.state.value<Auction>('auction').update(a);
        const waiting = ctx.state.list<Bid>('bids');
        for (const b of waiting.get()) out.collect(joined(b, a));
        waiting.clear();
      },
    })
    .uid('q20')
    .sinkTo(querySink(env))
    .uid('sink');
});
