/**
 * The records, shaped as the Flink Nexmark table `datagen`: one row per event with
 * `event_type` (0 person, 1 auction, 2 bid) and exactly one of `person`, `auction`, `bid` set,
 * fields named as nexmark's model classes. Timestamps are ms since the epoch.
 */

/** A new person (nexmark `Person`): id from the event id, random name, email, card, city, state. */
export interface Person {
  /** Person id, from 1000 (nexmark FIRST_PERSON_ID) up; sellers and bidders refer to it. */
  id: number;
  /** First and last name, e.g. "Peter Shultz". */
  name: string;
  /** Random e-mail address. */
  emailAddress: string;
  /** Random card number: four groups of four digits. */
  creditCard: string;
  /** One of ten US cities (Phoenix, Los Angeles, …). */
  city: string;
  /** One of six US state codes (AZ, CA, ID, OR, WA, WY). */
  state: string;
  /** Event time, ms since the epoch. */
  dateTime: number;
  /** Padding that brings the record to `avgPersonByteSize` on average. */
  extra: string;
}

/** A new auction (nexmark `Auction`): prices in cents, `expires` in ms, `seller` a person id. */
export interface Auction {
  /** Auction id, from 1000 (nexmark FIRST_AUCTION_ID) up; bids refer to it. */
  id: number;
  /** Random item name. */
  itemName: string;
  /** Random description. */
  description: string;
  /** Starting price, in cents. */
  initialBid: number;
  /** Reserve price, in cents (at least `initialBid`). */
  reserve: number;
  /** Event time the auction opens, ms since the epoch. */
  dateTime: number;
  /** Event time the auction closes, ms since the epoch. */
  expires: number;
  /** The selling person's id (`Person.id`). */
  seller: number;
  /** Category id, 10 … 14 (nexmark FIRST_CATEGORY_ID, NUM_CATEGORIES). */
  category: number;
  /** Padding that brings the record to `avgAuctionByteSize` on average. */
  extra: string;
}

/** A bid (nexmark `Bid`): on `auction` by person `bidder`, price in cents, channel and url. */
export interface Bid {
  /** The auction bid on (`Auction.id`). */
  auction: number;
  /** The bidding person's id (`Person.id`). */
  bidder: number;
  /** Bid price, in cents. */
  price: number;
  /** Where the bid came from: a hot channel (Google, Facebook, Baidu, Apple) or "channel-N". */
  channel: string;
  /** URL the bid came through, fixed per channel (q21 and q22 parse it). */
  url: string;
  /** Event time, ms since the epoch. */
  dateTime: number;
  /** Padding that brings the record to `avgBidByteSize` on average. */
  extra: string;
}

/** event_type of a person, an auction, a bid. */
export const PERSON = 0;
export const AUCTION = 1;
export const BID = 2;

/** One row of the Flink Nexmark table: `event_type` and exactly one of person, auction, bid. */
export interface NexmarkEvent {
  /** 0 person, 1 auction, 2 bid (`PERSON`, `AUCTION`, `BID`). */
  event_type: 0 | 1 | 2;
  /** The new person when `event_type` is 0, else null. */
  person: Person | null;
  /** The new auction when `event_type` is 1, else null. */
  auction: Auction | null;
  /** The bid when `event_type` is 2, else null. */
  bid: Bid | null;
}

/** The event time of an event: the dateTime of whichever record it carries. */
export function eventTime(e: NexmarkEvent): number {
  return e.event_type === BID ? e.bid!.dateTime : e.event_type === AUCTION ? e.auction!.dateTime : e.person!.dateTime;
}
