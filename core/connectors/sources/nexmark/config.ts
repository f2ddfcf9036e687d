/**
 * The Nexmark generator's settings and constants, named as in nexmark/nexmark's
 * GeneratorConfig / NexmarkConfiguration and the model generators. Defaults are the benchmark
 * suite's (nexmark.yaml: 10 M events per second of event time).
 */
import { EddyError } from '../../../failure.js';

export const FIRST_PERSON_ID = 1000;
export const FIRST_AUCTION_ID = 1000;
export const FIRST_CATEGORY_ID = 10;
export const NUM_CATEGORIES = 5;
export const PERSON_ID_LEAD = 10;
export const AUCTION_ID_LEAD = 10;
export const HOT_SELLER_RATIO = 100;
export const HOT_AUCTION_RATIO = 100;
export const HOT_BIDDER_RATIO = 100;
export const HOT_CHANNELS_RATIO = 2;
export const CHANNELS_NUMBER = 10_000;
export const HOT_CHANNELS = ['Google', 'Facebook', 'Baidu', 'Apple'] as const;
export const US_STATES = ['AZ', 'CA', 'ID', 'OR', 'WA', 'WY'] as const;
export const US_CITIES = [
  'Phoenix',
  'Los Angeles',
  'San Francisco',
  'Boise',
  'Portland',
  'Bend',
  'Redmond',
  'Seattle',
  'Kent',
  'Cheyenne',
] as const;
export const FIRST_NAMES = ['Peter', 'Paul', 'Luke', 'John', 'Saul', 'Vicky', 'Kate', 'Julie', 'Sarah', 'Deiter', 'Walter'] as const;
export const LAST_NAMES = ['Shultz', 'Abrams', 'Spencer', 'White', 'Bartels', 'Walton', 'Smith', 'Jones', 'Noris'] as const;

/** Beam's Nexmark BASE_TIME, 2015-07-15T00:00:00Z: a fixed base keeps runs reproducible. */
export const DEFAULT_BASE_TIME = Date.UTC(2015, 6, 15);
/** The benchmark suite's event-time density (nexmark.workload.suite.100m.tps). */
export const DEFAULT_RATE = 10_000_000;
/** The watermark bound the queries' DDL declares: `dateTime - INTERVAL '4' SECOND`. */
export const WATERMARK_DELAY_MS = 4000;

/** Settings of `Sources.nexmark` (names and defaults as in nexmark's NexmarkConfiguration). */
export interface NexmarkOptions {
  /** Number of events (ids 0 … events-1). */
  events: number;
  /** Events per second of event time (event-time density, not emit speed). Default 10 M. */
  rate?: number;
  /**
   * Wall-clock events per second over all subtasks (nexmark with max-emit-speed=false).
   * Default: as fast as the job takes them; event time comes from `rate` either way.
   */
  emitRate?: number;
  /** Event time of event 0, ms since the epoch. Default Beam's 2015-07-15T00:00:00Z. */
  baseTime?: number;
  /** Persons among every `person + auction + bid` proportion events (nexmark `personProportion`). Default 1. */
  personProportion?: number;
  /** Auctions among every `person + auction + bid` proportion events (nexmark `auctionProportion`). Default 3. */
  auctionProportion?: number;
  /** Bids among every `person + auction + bid` proportion events (nexmark `bidProportion`). Default 46. */
  bidProportion?: number;
  /**
   * A bid goes to a hot auction with P(hot) = 1 - 1/ratio (nexmark `hotAuctionRatio`). Default 2.
   * The same rule holds for `hotSellersRatio` and `hotBiddersRatio`.
   */
  hotAuctionRatio?: number;
  /** A new auction's seller is a hot person with P = 1 - 1/ratio (nexmark `hotSellersRatio`). Default 4. */
  hotSellersRatio?: number;
  /** A bid's bidder is a hot person with P = 1 - 1/ratio (nexmark `hotBiddersRatio`). Default 4. */
  hotBiddersRatio?: number;
  /** How many auctions are open at once: sets how long an auction lasts (nexmark `numInFlightAuctions`). Default 100. */
  numInFlightAuctions?: number;
  /** How many of the latest persons bid and sell (nexmark `numActivePeople`). Default 1000. */
  numActivePeople?: number;
  /** Average size of a person in bytes; `extra` pads it to that (nexmark `avgPersonByteSize`). Default 200. */
  avgPersonByteSize?: number;
  /** Average size of an auction in bytes; `extra` pads it to that (nexmark `avgAuctionByteSize`). Default 500. */
  avgAuctionByteSize?: number;
  /** Average size of a bid in bytes; `extra` pads it to that (nexmark `avgBidByteSize`). Default 100. */
  avgBidByteSize?: number;
}

/** Options with every default filled in, plus what follows from them. */
export interface GeneratorConfig extends Required<Omit<NexmarkOptions, 'emitRate'>> {
  totalProportion: number;
  /** Event-time microseconds between two events (one logical timeline over all subtasks). */
  interEventDelayUs: number;
}

function check(name: string, v: number, min: number, integer: boolean): void {
  if (!(v >= min) || !Number.isFinite(v) || (integer && !Number.isSafeInteger(v))) {
    throw new EddyError('JOB_INVALID', `nexmark: ${name} must be ${integer ? 'an integer' : 'a number'} >= ${min}, got ${v}`);
  }
}

export function resolveConfig(o: NexmarkOptions): GeneratorConfig {
  const c: Required<Omit<NexmarkOptions, 'emitRate'>> = {
    events: o.events,
    rate: o.rate ?? DEFAULT_RATE,
    baseTime: o.baseTime ?? DEFAULT_BASE_TIME,
    personProportion: o.personProportion ?? 1,
    auctionProportion: o.auctionProportion ?? 3,
    bidProportion: o.bidProportion ?? 46,
    hotAuctionRatio: o.hotAuctionRatio ?? 2,
    hotSellersRatio: o.hotSellersRatio ?? 4,
    hotBiddersRatio: o.hotBiddersRatio ?? 4,
    numInFlightAuctions: o.numInFlightAuctions ?? 100,
    numActivePeople: o.numActivePeople ?? 1000,
    avgPersonByteSize: o.avgPersonByteSize ?? 200,
    avgAuctionByteSize: o.avgAuctionByteSize ?? 500,
    avgBidByteSize: o.avgBidByteSize ?? 100,
  };
  check('events', c.events, 0, true);
  if (!(c.rate > 0) || !Number.isFinite(c.rate))
    throw new EddyError('JOB_INVALID', `nexmark: rate must be a positive number of events per second of event time, got ${c.rate}`);
  check('baseTime', c.baseTime, 0, true);
  for (const k of ['personProportion', 'auctionProportion', 'bidProportion'] as const) check(k, c[k], 0, true);
  for (const k of ['hotAuctionRatio', 'hotSellersRatio', 'hotBiddersRatio', 'numInFlightAuctions', 'numActivePeople'] as const)
    check(k, c[k], 1, true);
  for (const k of ['avgPersonByteSize', 'avgAuctionByteSize', 'avgBidByteSize'] as const) check(k, c[k], 0, true);
  const totalProportion = c.personProportion + c.auctionProportion + c.bidProportion;
  if (totalProportion === 0) throw new EddyError('JOB_INVALID', 'nexmark: the person, auction and bid proportions are all 0');
  return { ...c, totalProportion, interEventDelayUs: 1_000_000 / c.rate };
}

/** GeneratorConfig.timestampForEvent: `baseTime + (long)(n * interEventDelayUs) / 1000`. */
export function timestampForEvent(c: GeneratorConfig, eventNumber: number): number {
  return c.baseTime + Math.floor(Math.floor(eventNumber * c.interEventDelayUs) / 1000);
}
