// test-lane: pair
// The Nexmark generator against the specification worked out here, independently of its code:
// ids, foreign keys and timestamps from the formulas of nexmark's GeneratorConfig and model
// generators, and the random fields from a java.util.Random written again in this file with
// BigInt (the LCG of the Java documentation), drawn in nexmark's call order. The `extra`
// padding is a slice of a 1 MiB pool, so only its length range is checked; urls are checked
// by shape and against the channel. Then: the same events at parallelism 1 and 4.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { EddyError, runJob, Sources } from '../../core/index.js';
import { resolveConfig } from '../../core/connectors/sources/nexmark/config.js';
import { eventMaker } from '../../core/connectors/sources/nexmark/event.js';
import type { NexmarkEvent } from '../../core/connectors/sources/nexmark/model.js';
import { fixture } from '../helpers/paths.js';
import { readCommitted } from '../helpers/validating-output.js';

/** java.util.Random from its documented definition, in 64-bit BigInt arithmetic. */
class RefRandom {
  private seed: bigint;
  constructor(seed: number) {
    this.seed = (BigInt(seed) ^ 0x5deece66dn) & ((1n << 48n) - 1n);
  }
  next(bits: number): number {
    this.seed = (this.seed * 0x5deece66dn + 0xbn) & ((1n << 48n) - 1n);
    return Number(BigInt.asIntN(32, this.seed >> BigInt(48 - bits)));
  }
  nextInt(bound: number): number {
    let r = this.next(31);
    const m = bound - 1;
    if ((bound & m) === 0) return Number((BigInt(bound) * BigInt(r)) >> 31n);
    for (let u = r; u - (r = u % bound) + m > 2 ** 31 - 1; u = this.next(31));
    return r;
  }
  nextDouble(): number {
    return Number((BigInt(this.next(26)) << 27n) + BigInt(this.next(27))) / 2 ** 53;
  }
}

const BASE = Date.UTC(2015, 6, 15);
const RATE = 3000; // 333.33… µs per event: timestamps exercise the truncations
const ts = (id: number) => BASE + Math.floor(Math.floor((id * 1e6) / RATE) / 1000);
const lastPerson = (id: number) => Math.floor(id / 50);
const lastAuction = (id: number) => {
  const epoch = Math.floor(id / 50);
  const off = id % 50;
  return off < 1 ? (epoch - 1) * 3 + 2 : off >= 4 ? epoch * 3 + 2 : epoch * 3 + off - 1;
};
const price = (r: RefRandom) => Math.floor(Math.pow(10, r.nextDouble() * 6) * 100 + 0.5);
const word = (r: RefRandom, max: number, special = ' ') => {
  let s = '';
  for (let n = 3 + r.nextInt(max - 3); n > 0; n--) s += r.nextInt(13) === 0 ? special : String.fromCharCode(97 + r.nextInt(26));
  return s.trim();
};
/** The padding's length (the offset draw follows it and is not checked). */
const extraLength = (r: RefRandom, current: number, avg: number) => {
  if (current > avg) return 0;
  const d = avg - current;
  const delta = Math.floor(d * 0.2 + 0.5);
  return d - delta + (delta === 0 ? 0 : r.nextInt(2 * delta));
};
const personFrom = (id: number, r: RefRandom) => {
  const active = Math.min(lastPerson(id) + 1, 1000);
  return lastPerson(id) + 1 - active + r.nextInt(active + 10);
};
const auctionFrom = (id: number, r: RefRandom) => {
  const min = Math.max(lastAuction(id) - 100, 0);
  return min + r.nextInt(lastAuction(id) - min + 1 + 10);
};

const FIRST = 'Peter,Paul,Luke,John,Saul,Vicky,Kate,Julie,Sarah,Deiter,Walter'.split(',');
const LAST = 'Shultz,Abrams,Spencer,White,Bartels,Walton,Smith,Jones,Noris'.split(',');
const CITIES = 'Phoenix,Los Angeles,San Francisco,Boise,Portland,Bend,Redmond,Seattle,Kent,Cheyenne'.split(',');
const STATES = 'AZ,CA,ID,OR,WA,WY'.split(',');
const HOT = ['Google', 'Facebook', 'Baidu', 'Apple'];

function checkPerson(id: number, e: NexmarkEvent): void {
  const r = new RefRandom(id);
  assert.equal(e.event_type, 0);
  assert.equal(e.auction, null);
  assert.equal(e.bid, null);
  const p = e.person!;
  assert.equal(p.id, 1000 + lastPerson(id), `person id of event ${id}`);
  assert.equal(p.dateTime, ts(id));
  assert.equal(p.name, `${FIRST[r.nextInt(11)]} ${LAST[r.nextInt(9)]}`);
  assert.equal(p.emailAddress, `${word(r, 7)}@${word(r, 5)}.com`);
  const card = [0, 0, 0, 0].map(() => String(r.nextInt(10000)).padStart(4, '0')).join(' ');
  assert.equal(p.creditCard, card);
  assert.equal(p.city, CITIES[r.nextInt(10)]);
  assert.equal(p.state, STATES[r.nextInt(6)]);
  const current = 8 + p.name.length + p.emailAddress.length + p.creditCard.length + p.city.length + p.state.length;
  assert.equal(p.extra.length, extraLength(r, current, 200), `extra length of event ${id}`);
}

function checkAuction(id: number, e: NexmarkEvent): void {
  const r = new RefRandom(id);
  assert.equal(e.event_type, 1);
  const a = e.auction!;
  assert.equal(a.id, 1000 + lastAuction(id), `auction id of event ${id}`);
  assert.equal(a.dateTime, ts(id));
  const seller = r.nextInt(4) > 0 ? Math.floor(lastPerson(id) / 100) * 100 : personFrom(id, r);
  assert.equal(a.seller, 1000 + seller);
  assert.equal(a.category, 10 + r.nextInt(5));
  assert.equal(a.initialBid, price(r));
  // The auction lasts 1 + nextInt(2 × the event time of 100 × 50 / 3 = 1666 more events).
  const horizon = ts(id + 1666) - ts(id);
  assert.equal(a.expires, ts(id) + 1 + r.nextInt(Math.max(2 * horizon, 1)));
  assert.equal(a.itemName, word(r, 20));
  assert.equal(a.description, word(r, 100));
  assert.equal(a.reserve, a.initialBid + price(r));
  assert.equal(a.extra.length, extraLength(r, 8 + a.itemName.length + a.description.length + 40, 500));
}

function checkBid(id: number, e: NexmarkEvent, urls: Map<string, string>): void {
  const r = new RefRandom(id);
  assert.equal(e.event_type, 2);
  const b = e.bid!;
  const auction = r.nextInt(2) > 0 ? Math.floor(lastAuction(id) / 100) * 100 : auctionFrom(id, r);
  assert.equal(b.auction, 1000 + auction, `auction of bid ${id}`);
  const bidder = r.nextInt(4) > 0 ? Math.floor(lastPerson(id) / 100) * 100 + 1 : personFrom(id, r);
  assert.equal(b.bidder, 1000 + bidder, `bidder of bid ${id}`);
  assert.equal(b.price, price(r));
  assert.equal(b.dateTime, ts(id));
  if (r.nextInt(2) > 0) {
    assert.equal(b.channel, HOT[r.nextInt(4)]);
    assert.match(b.url, /^https:\/\/www\.nexmark\.com\/[a-z_]+\/[a-z_]+\/[a-z_]+\/item\.htm\?query=1$/);
  } else {
    const i = r.nextInt(10_000);
    assert.equal(b.channel, `channel-${i}`);
    // Integer.reverse(i), then Math.abs of the int.
    let rev = 0;
    for (let k = 0; k < 32; k++) rev = (rev << 1) | ((i >>> k) & 1);
    const suffix = `&channel_id=${rev === -(2 ** 31) ? rev : Math.abs(rev)}`;
    assert.ok(b.url.endsWith('item.htm?query=1') || b.url.endsWith(suffix), `url of channel ${i}: ${b.url}`);
  }
  // One url per channel, always.
  assert.equal(urls.get(b.channel) ?? b.url, b.url);
  urls.set(b.channel, b.url);
  assert.equal(b.extra.length, extraLength(r, 32, 100));
}

describe('nexmark generator', () => {
  const make = eventMaker(resolveConfig({ events: 1_000_000, rate: RATE }));

  it('makes persons, auctions and bids as the specification and java.util.Random give them', () => {
    const urls = new Map<string, string>();
    // The first epochs, epochs far out (ids past 2^24 split the seed's halves), the hot-key edges.
    const epochs = [0, 1, 2, 19, 20, 33, 99, 100, 101, 4_999, 335_544, 400_000, 987_654];
    let n = [0, 0, 0];
    for (const epoch of epochs) {
      for (let off = 0; off < 50; off++) {
        const id = epoch * 50 + off;
        const e = make(id);
        if (off < 1) checkPerson(id, e);
        else if (off < 4) checkAuction(id, e);
        else checkBid(id, e, urls);
        n[off < 1 ? 0 : off < 4 ? 1 : 2]++;
      }
    }
    assert.ok(n[0] >= 12 && n[1] >= 36 && n[2] >= 500, `checked ${n}`);
  });

  it('has the documented mix, hot keys and price range over 200,000 events', () => {
    let persons = 0;
    let auctions = 0;
    let hotAuction = 0;
    let hotBidder = 0;
    let hotChannel = 0;
    let hotSeller = 0;
    let minPrice = Infinity;
    let maxPrice = -Infinity;
    const N = 200_000;
    for (let id = 0; id < N; id++) {
      const e = make(id);
      if (e.person) persons++;
      if (e.auction) {
        auctions++;
        if ((e.auction.seller - 1000) % 100 === 0 && e.auction.seller - 1000 === Math.floor(lastPerson(id) / 100) * 100) hotSeller++;
      }
      if (e.bid) {
        const b = e.bid;
        if (b.auction - 1000 === Math.floor(lastAuction(id) / 100) * 100) hotAuction++;
        if (b.bidder - 1000 === Math.floor(lastPerson(id) / 100) * 100 + 1) hotBidder++;
        if (HOT.includes(b.channel)) hotChannel++;
        minPrice = Math.min(minPrice, b.price);
        maxPrice = Math.max(maxPrice, b.price);
      }
    }
    const bids = N - persons - auctions;
    assert.equal(persons, N / 50);
    assert.equal(auctions, (3 * N) / 50);
    // P(hot) = 1 - 1/ratio (plus the rare random pick of the hot id itself).
    assert.ok(Math.abs(hotAuction / bids - 0.5) < 0.02, `hot auctions ${hotAuction / bids}`);
    assert.ok(Math.abs(hotBidder / bids - 0.75) < 0.02, `hot bidders ${hotBidder / bids}`);
    assert.ok(Math.abs(hotSeller / auctions - 0.75) < 0.03, `hot sellers ${hotSeller / auctions}`);
    assert.ok(Math.abs(hotChannel / bids - 0.5) < 0.02, `hot channels ${hotChannel / bids}`);
    assert.ok(minPrice >= 100 && maxPrice <= 100_000_000 && minPrice < 200 && maxPrice > 50_000_000, `prices ${minPrice} … ${maxPrice}`);
  });

  it('refuses bad settings with one line naming the setting', () => {
    const refused = (o: Parameters<typeof Sources.nexmark>[0], pattern: RegExp) =>
      assert.throws(
        () => Sources.nexmark(o),
        (e: EddyError) => e.code === 'JOB_INVALID' && pattern.test(e.message) && !e.message.includes('\n'),
      );
    refused({ events: -1 }, /events must be an integer >= 0, got -1/);
    refused({ events: Number('abc') }, /events must be an integer >= 0, got NaN/);
    refused({ events: 10, rate: 0 }, /rate must be a positive number/);
    refused({ events: 10, emitRate: -5 }, /emitRate must be a positive number/);
    refused({ events: 10, hotAuctionRatio: 0 }, /hotAuctionRatio must be an integer >= 1/);
  });

  it('emits the same events at parallelism 1 and 4, each once', async () => {
    const dirs = [mkdtempSync(join(tmpdir(), 'eddy-nx-p1-')), mkdtempSync(join(tmpdir(), 'eddy-nx-p4-'))];
    try {
      const EVENTS = 20_000;
      await runJob(fixture('nexmark-events.mjs'), {
        parallelism: 1,
        args: { events: String(EVENTS), rate: String(RATE), output: dirs[0] },
      });
      await runJob(fixture('nexmark-events.mjs'), {
        parallelism: 4,
        args: { events: String(EVENTS), rate: String(RATE), output: dirs[1] },
      });
      const expected = Array.from({ length: EVENTS }, (_, id) => JSON.stringify(make(id))).sort();
      for (const dir of dirs) {
        const got = readCommitted<NexmarkEvent>(dir)
          .map((e) => JSON.stringify(e))
          .sort();
        assert.equal(got.length, EVENTS);
        assert.deepEqual(got, expected);
      }
    } finally {
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    }
  });
});
