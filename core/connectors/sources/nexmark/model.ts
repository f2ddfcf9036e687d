/**
 * The records, shaped as the Flink Nexmark table `datagen`: one row per event with
 * `event_type` (0 person, 1 auction, 2 bid) and exactly one of `person`, `auction`, `bid` set,
 * fields named as nexmark's model classes. Timestamps are ms since the epoch.
 */

/** A new person (nexmark `Person`): id from the event id, random name, email, card, city, state. */
export interface Person {
  id: number;
  name: string;
  emailAddress: string;
  creditCard: string;
  city: string;
  state: string;
  dateTime: number;
  extra: string;
}

/** A new auction (nexmark `Auction`): prices in cents, `expires` in ms, `seller` a person id. */
export interface Auction {
  id: number;
  itemName: string;
  description: string;
  initialBid: number;
  reserve: number;
  dateTime: number;
  expires: number;
  seller: number;
  category: number;
  extra: string;
}

/** A bid (nexmark `Bid`): on `auction` by person `bidder`, price in cents, channel and url. */
export interface Bid {
  auction: number;
  bidder: number;
  price: number;
  channel: string;
  url: string;
  dateTime: number;
  extra: string;
}

/** event_type of a person, an auction, a bid. */
export const PERSON = 0;
export const AUCTION = 1;
export const BID = 2;

/** One row of the Flink Nexmark table: `event_type` and exactly one of person, auction, bid. */
export interface NexmarkEvent {
  event_type: 0 | 1 | 2;
  person: Person | null;
  auction: Auction | null;
  bid: Bid | null;
}

/** The event time of an event: the dateTime of whichever record it carries. */
export function eventTime(e: NexmarkEvent): number {
  return e.event_type === BID ? e.bid!.dateTime : e.event_type === AUCTION ? e.auction!.dateTime : e.person!.dateTime;
}
