// Nexmark q13, bounded side-input join: each bid joined on mod(auction, 10000) = key with the
// side input nexmark's side_input_gen.sh writes (10,000 rows "i,i"), held in memory by every
// subtask as a lookup table (the SQL's FOR SYSTEM_TIME AS OF a file that never changes).
import { defineJob } from 'eddy';
import { nexmarkBids, querySink } from './common.js';

const SIDE_INPUT_ROWS = 10_000;

export default defineJob((env) => {
  const side = Array.from({ length: SIDE_INPUT_ROWS }, (_, i) => String(i));
  nexmarkBids(env)
    .flatMap<{ auction: number; bidder: number; price: number; dateTime: number; value: string }>((b, out) => {
      const value = side[b.auction % SIDE_INPUT_ROWS];
      if (value !== undefined) out.collect({ auction: b.auction, bidder: b.bidder, price: b.price, dateTime: b.dateTime, value });
    })
    .uid('q13')
    .sinkTo(querySink(env))
    .uid('sink');
});
