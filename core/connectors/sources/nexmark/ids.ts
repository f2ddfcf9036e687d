/**
 * Id arithmetic of the Nexmark generator: which person / auction is the latest at an event id,
 * and a random "active" one (the last numActivePeople people or numInFlightAuctions auctions,
 * plus a few ids not yet generated). Pure functions of the event id and the draws.
 */
import { AUCTION_ID_LEAD, PERSON_ID_LEAD, type GeneratorConfig } from './config.js';
import type { JavaRandom } from './java-random.js';

/** LongGenerator.nextLong for the bounds that occur (all below 2^31). */
export function nextLong(random: JavaRandom, n: number): number {
  return random.nextIntBounded(n);
}

export function lastBase0PersonId(c: GeneratorConfig, eventId: number): number {
  const epoch = Math.floor(eventId / c.totalProportion);
  let offset = eventId % c.totalProportion;
  if (offset >= c.personProportion) offset = c.personProportion - 1;
  return epoch * c.personProportion + offset;
}

export function lastBase0AuctionId(c: GeneratorConfig, eventId: number): number {
  let epoch = Math.floor(eventId / c.totalProportion);
  let offset = eventId % c.totalProportion;
  if (offset < c.personProportion) {
    epoch--;
    offset = c.auctionProportion - 1;
  } else if (offset >= c.personProportion + c.auctionProportion) {
    offset = c.auctionProportion - 1;
  } else {
    offset -= c.personProportion;
  }
  return epoch * c.auctionProportion + offset;
}

export function nextBase0PersonId(c: GeneratorConfig, eventId: number, random: JavaRandom): number {
  const numPeople = lastBase0PersonId(c, eventId) + 1;
  const activePeople = Math.min(numPeople, c.numActivePeople);
  return numPeople - activePeople + nextLong(random, activePeople + PERSON_ID_LEAD);
}

export function nextBase0AuctionId(c: GeneratorConfig, eventId: number, random: JavaRandom): number {
  const maxAuction = lastBase0AuctionId(c, eventId);
  const minAuction = Math.max(maxAuction - c.numInFlightAuctions, 0);
  return minAuction + nextLong(random, maxAuction - minAuction + 1 + AUCTION_ID_LEAD);
}
