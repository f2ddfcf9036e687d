// Nexmark q22, get URL directories: SPLIT_INDEX(url, '/', 3 | 4 | 5) as dir1, dir2, dir3
// (null past the end, as SPLIT_INDEX).
import { defineJob } from 'eddy';
import { nexmarkBids, querySink } from './common.js';

export default defineJob((env) => {
  nexmarkBids(env)
    .map((b) => {
      const parts = b.url.split('/');
      return {
        auction: b.auction,
        bidder: b.bidder,
        price: b.price,
        channel: b.channel,
        dir1: parts[3] ?? null,
        dir2: parts[4] ?? null,
        dir3: parts[5] ?? null,
      };
    })
    .uid('q22')
    .sinkTo(querySink(env))
    .uid('sink');
});
