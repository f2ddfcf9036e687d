/** AuctionGenerator.nextAuction: the auction whose id the event id determines. */
import {
  FIRST_AUCTION_ID,
  FIRST_CATEGORY_ID,
  FIRST_PERSON_ID,
  HOT_SELLER_RATIO,
  NUM_CATEGORIES,
  timestampForEvent,
  type GeneratorConfig,
} from './config.js';
import { lastBase0AuctionId, lastBase0PersonId, nextBase0PersonId, nextLong } from './ids.js';
import type { JavaRandom } from './java-random.js';
import type { Auction } from './model.js';
import { nextPrice } from './price.js';
import { nextExtra, nextString } from './strings.js';

export function nextAuction(c: GeneratorConfig, eventId: number, random: JavaRandom, timestamp: number): Auction {
  const id = lastBase0AuctionId(c, eventId) + FIRST_AUCTION_ID;
  // P(hot seller) = 1 - 1/hotSellersRatio: the first person of the last HOT_SELLER_RATIO.
  const seller =
    (random.nextIntBounded(c.hotSellersRatio) > 0
      ? Math.floor(lastBase0PersonId(c, eventId) / HOT_SELLER_RATIO) * HOT_SELLER_RATIO
      : nextBase0PersonId(c, eventId, random)) + FIRST_PERSON_ID;
  const category = FIRST_CATEGORY_ID + random.nextIntBounded(NUM_CATEGORIES);
  const initialBid = nextPrice(random);
  const expires = timestamp + nextAuctionLengthMs(c, eventId, random, timestamp);
  const itemName = nextString(random, 20);
  const description = nextString(random, 100);
  const reserve = initialBid + nextPrice(random);
  const currentSize = 8 + itemName.length + description.length + 8 + 8 + 8 + 8 + 8;
  const extra = nextExtra(random, currentSize, c.avgAuctionByteSize);
  return { id, itemName, description, initialBid, reserve, dateTime: timestamp, expires, seller, category, extra };
}

/**
 * An auction lasts 1 … 2 × the event time until numInFlightAuctions more auctions exist, so
 * about that many are open at once. One logical timeline: the event number is the event id.
 */
function nextAuctionLengthMs(c: GeneratorConfig, eventId: number, random: JavaRandom, timestamp: number): number {
  const numEventsForAuctions = Math.floor((c.numInFlightAuctions * c.totalProportion) / c.auctionProportion);
  const horizonMs = timestampForEvent(c, eventId + numEventsForAuctions) - timestamp;
  return 1 + nextLong(random, Math.max(horizonMs * 2, 1));
}
