// Nexmark q1, currency conversion: 0.908 * price (DECIMAL(23, 3): price * 908 / 1000, exact to
// the third decimal as a JSON number).
import { defineJob } from 'eddy';
import { nexmarkBids, querySink } from './common.js';

export default defineJob((env) => {
  nexmarkBids(env)
    .map((b) => ({ auction: b.auction, bidder: b.bidder, price: (b.price * 908) / 1000, dateTime: b.dateTime, extra: b.extra }))
    .uid('q1')
    .sinkTo(querySink(env))
    .uid('sink');
});
