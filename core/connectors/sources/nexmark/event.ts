/**
 * NexmarkGenerator.nextEvent for one event id: the type from `id % totalProportion`, the
 * record from a java.util.Random seeded with the id (as Beam seeds it), the timestamp from
 * the id on one event-time timeline. A pure function of the id, so the events do not depend
 * on which subtask makes them or in what order.
 */
import { timestampForEvent, type GeneratorConfig } from './config.js';
import { nextAuction } from './auction.js';
import { nextBid } from './bid.js';
import { JavaRandom } from './java-random.js';
import { AUCTION, BID, PERSON, type NexmarkEvent } from './model.js';
import { nextPerson } from './person.js';

/** Makes events of one configuration; one Random reseeded per event, no other state. */
export function eventMaker(c: GeneratorConfig): (eventId: number) => NexmarkEvent {
  const random = new JavaRandom();
  return (eventId) => {
    random.setSeed(eventId);
    const ts = timestampForEvent(c, eventId);
    const rem = eventId % c.totalProportion;
    if (rem < c.personProportion) return { event_type: PERSON, person: nextPerson(c, eventId, random, ts), auction: null, bid: null };
    if (rem < c.personProportion + c.auctionProportion)
      return { event_type: AUCTION, person: null, auction: nextAuction(c, eventId, random, ts), bid: null };
    return { event_type: BID, person: null, auction: null, bid: nextBid(c, eventId, random, ts) };
  };
}
