// Nexmark q10, log to a file system: every bid with its partition columns dt (yyyy-MM-dd) and
// hm (HH:mm), UTC. The SQL partitions the files by (dt, hm); here the columns are written and
// the file sink rolls its parts on checkpoints instead.
import { defineJob } from 'eddy';
import { day, hourMinute, nexmarkBids, querySink } from './common.js';

export default defineJob((env) => {
  nexmarkBids(env)
    .map((b) => ({
      auction: b.auction,
      bidder: b.bidder,
      price: b.price,
      dateTime: b.dateTime,
      extra: b.extra,
      dt: day(b.dateTime),
      hm: hourMinute(b.dateTime),
    }))
    .uid('q10')
    .sinkTo(querySink(env))
    .uid('sink');
});
