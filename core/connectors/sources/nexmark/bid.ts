/** BidGenerator.nextBid: a bid on a hot or recent auction by a hot or active person. */
import {
  FIRST_AUCTION_ID,
  FIRST_PERSON_ID,
  HOT_AUCTION_RATIO,
  HOT_BIDDER_RATIO,
  HOT_CHANNELS,
  HOT_CHANNELS_RATIO,
  CHANNELS_NUMBER,
  type GeneratorConfig,
} from './config.js';
import { lastBase0AuctionId, lastBase0PersonId, nextBase0AuctionId, nextBase0PersonId } from './ids.js';
import type { JavaRandom } from './java-random.js';
import type { Bid } from './model.js';
import { nextPrice } from './price.js';
import { nextExtra, urlTables } from './strings.js';

/** 8 bytes each for auction, bidder, price and dateTime, as nexmark counts them. */
const BID_FIXED_SIZE = 32;

export function nextBid(c: GeneratorConfig, eventId: number, random: JavaRandom, timestamp: number): Bid {
  const auction =
    (random.nextIntBounded(c.hotAuctionRatio) > 0
      ? Math.floor(lastBase0AuctionId(c, eventId) / HOT_AUCTION_RATIO) * HOT_AUCTION_RATIO
      : nextBase0AuctionId(c, eventId, random)) + FIRST_AUCTION_ID;
  // The second person of the last HOT_BIDDER_RATIO, so hot bidders and hot sellers differ.
  // FIRST_PERSON_ID is added once, as Beam does (nexmark/nexmark adds it twice: issue #30).
  const bidder =
    (random.nextIntBounded(c.hotBiddersRatio) > 0
      ? Math.floor(lastBase0PersonId(c, eventId) / HOT_BIDDER_RATIO) * HOT_BIDDER_RATIO + 1
      : nextBase0PersonId(c, eventId, random)) + FIRST_PERSON_ID;
  const price = nextPrice(random);
  const t = urlTables();
  let channel: string;
  let url: string;
  if (random.nextIntBounded(HOT_CHANNELS_RATIO) > 0) {
    const i = random.nextIntBounded(HOT_CHANNELS.length);
    channel = HOT_CHANNELS[i];
    url = t.hotUrls[i];
  } else {
    const i = random.nextIntBounded(CHANNELS_NUMBER);
    channel = t.channels[i];
    url = t.channelUrls[i];
  }
  const extra = nextExtra(random, BID_FIXED_SIZE, c.avgBidByteSize);
  return { auction, bidder, price, channel, url, dateTime: timestamp, extra };
}
