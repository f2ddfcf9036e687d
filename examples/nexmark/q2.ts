// Nexmark q2, selection: SELECT auction, price FROM bid WHERE MOD(auction, 123) = 0.
import { defineJob } from 'eddy';
import { nexmarkBids, querySink } from './common.js';

export default defineJob((env) => {
  nexmarkBids(env)
    .filter((b) => b.auction % 123 === 0)
    .uid('q2')
    .map((b) => ({ auction: b.auction, price: b.price }))
    .uid('project')
    .sinkTo(querySink(env))
    .uid('sink');
});
