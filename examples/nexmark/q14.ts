// Nexmark q14, a stateless calculation with a UDF: bids with 1,000,000 < 0.908 * price <
// 50,000,000, their bidTimeType by HOUR(dateTime) (UTC) and count_char(extra, 'c').
import { defineJob } from 'eddy';
import { nexmarkBids, querySink } from './common.js';

function bidTimeType(ts: number): string {
  const hour = new Date(ts).getUTCHours();
  if (hour >= 8 && hour <= 18) return 'dayTime';
  if (hour <= 6 || hour >= 20) return 'nightTime';
  return 'otherTime';
}

/** nexmark's CountChar UDF. */
function countChar(s: string, c: string): number {
  let n = 0;
  for (let i = s.indexOf(c); i >= 0; i = s.indexOf(c, i + 1)) n++;
  return n;
}

export default defineJob((env) => {
  nexmarkBids(env)
    // 0.908 * price compared in thousandths, exactly: 1e6 < price * 908 / 1000 < 5e7.
    .filter((b) => b.price * 908 > 1_000_000_000 && b.price * 908 < 50_000_000_000)
    .uid('q14')
    .map((b) => ({
      auction: b.auction,
      bidder: b.bidder,
      price: (b.price * 908) / 1000,
      bidTimeType: bidTimeType(b.dateTime),
      dateTime: b.dateTime,
      extra: b.extra,
      c_counts: countChar(b.extra, 'c'),
    }))
    .uid('project')
    .sinkTo(querySink(env))
    .uid('sink');
});
