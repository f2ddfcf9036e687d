// Nexmark q0, pass-through: SELECT auction, bidder, price, dateTime, extra FROM bid.
import { defineJob } from 'eddy';
import { nexmarkBids, querySink } from './common.js';

export default defineJob((env) => {
  nexmarkBids(env)
    .map((b) => ({ auction: b.auction, bidder: b.bidder, price: b.price, dateTime: b.dateTime, extra: b.extra }))
    .uid('q0')
    .sinkTo(querySink(env))
    .uid('sink');
});
