// Nexmark q9, winning bids: every auction with its highest valid bid (price DESC, dateTime ASC)
// and all columns of both. Flink's SQL result is an updating Top-1; this job emits each
// auction's final row once, when it closes (the watermark passes expires).
import { defineJob } from 'eddy';
import { nexmarkViews, querySink, winningBids } from './common.js';

export default defineJob((env) => {
  const { auctions, bids } = nexmarkViews(env);
  winningBids(auctions, bids)
    .uid('winningBids')
    .map(({ auction: a, bid: b }) => ({
      id: a.id,
      itemName: a.itemName,
      description: a.description,
      initialBid: a.initialBid,
      reserve: a.reserve,
      dateTime: a.dateTime,
      expires: a.expires,
      seller: a.seller,
      category: a.category,
      extra: a.extra,
      auction: b.auction,
      bidder: b.bidder,
      price: b.price,
      bid_dateTime: b.dateTime,
      bid_extra: b.extra,
    }))
    .uid('q9')
    .sinkTo(querySink(env))
    .uid('sink');
});
