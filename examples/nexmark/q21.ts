// Nexmark q21, add a channel_id: '0'…'3' for the hot channels (apple, google, facebook,
// baidu), else REGEXP_EXTRACT(url, '(&|^)channel_id=([^&]*)', 2); rows without one dropped.
import { defineJob } from 'eddy';
import { nexmarkBids, querySink } from './common.js';

const HOT: Record<string, string> = { apple: '0', google: '1', facebook: '2', baidu: '3' };
const CHANNEL_ID = /(&|^)channel_id=([^&]*)/;

export default defineJob((env) => {
  nexmarkBids(env)
    .flatMap<{ auction: number; bidder: number; price: number; channel: string; channel_id: string }>((b, out) => {
      const channelId = HOT[b.channel.toLowerCase()] ?? CHANNEL_ID.exec(b.url)?.[2];
      if (channelId !== undefined)
        out.collect({ auction: b.auction, bidder: b.bidder, price: b.price, channel: b.channel, channel_id: channelId });
    })
    .uid('q21')
    .sinkTo(querySink(env))
    .uid('sink');
});
