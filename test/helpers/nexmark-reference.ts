// Plain references for the Nexmark queries, written from each query's SQL (maps and loops over
// the generated events; no eddy window or join code), and the generated events themselves.
// Where a query's SQL result is an updating table, the reference is its final content.
import { readCommitted } from './validating-output.js';
import { resolveConfig } from '../../core/connectors/sources/nexmark/config.js';
import { eventMaker } from '../../core/connectors/sources/nexmark/event.js';
import type { Auction, Bid, NexmarkEvent, Person } from '../../core/connectors/sources/nexmark/model.js';

/** 1,000 events per second of event time: 12,000 events span 12 s (windows of 2 and 10 s). */
export const RATE = 1000;

export type Row = Record<string, unknown>;

export interface Data {
  persons: Person[];
  auctions: Auction[];
  bids: Bid[];
}

/** Events 0 … events-1 as the nexmark source makes them, `rate` events per second of event time. */
export function generate(events: number, rate = RATE): Data {
  const make = eventMaker(resolveConfig({ events, rate }));
  const d: Data = { persons: [], auctions: [], bids: [] };
  for (let id = 0; id < events; id++) {
    const e: NexmarkEvent = make(id);
    if (e.person) d.persons.push(e.person);
    else if (e.auction) d.auctions.push(e.auction);
    else d.bids.push(e.bid!);
  }
  return d;
}

/** A row as sorted-key JSON, so column order does not matter. */
const canon = (r: Row) =>
  JSON.stringify(
    Object.keys(r)
      .sort()
      .map((k) => [k, r[k]]),
  );
export const multiset = (rows: Row[]) => rows.map(canon).sort();

const groupBy = <T, K>(xs: T[], key: (x: T) => K): Map<K, T[]> => {
  const m = new Map<K, T[]>();
  for (const x of xs) {
    const k = key(x);
    const g = m.get(k);
    if (g) g.push(x);
    else m.set(k, [x]);
  }
  return m;
};
const day = (ts: number) => new Date(ts).toISOString().slice(0, 10);
const hm = (ts: number) => new Date(ts).toISOString().slice(11, 16);
const proj0 = (b: Bid) => ({ auction: b.auction, bidder: b.bidder, price: b.price, dateTime: b.dateTime, extra: b.extra });
/** ORDER BY price DESC, dateTime ASC, completed to a total order as the jobs document it. */
const byRank = (x: Bid, y: Bid) =>
  y.price - x.price || x.dateTime - y.dateTime || x.bidder - y.bidder || (x.extra + x.url < y.extra + y.url ? -1 : 1);
/** Bids with A.id = B.auction AND B.dateTime BETWEEN A.dateTime AND A.expires. */
const validBids = (a: Auction, byAuction: Map<number, Bid[]>) =>
  (byAuction.get(a.id) ?? []).filter((b) => b.dateTime >= a.dateTime && b.dateTime <= a.expires);
const winners = (d: Data) => {
  const byAuction = groupBy(d.bids, (b) => b.auction);
  const out: Array<{ a: Auction; b: Bid }> = [];
  for (const a of d.auctions) {
    const valid = validBids(a, byAuction).sort(byRank);
    if (valid.length > 0) out.push({ a, b: valid[0] });
  }
  return out;
};
const band = (p: number) => (p < 10_000 ? 0 : p < 1_000_000 ? 1 : 2);
/** count(*) and count(DISTINCT bidder / auction), total and FILTERed by price band. */
function bandStats(bids: Bid[]): Row {
  const r: Row = {};
  const names = ['bids', 'bidders', 'auctions'] as const;
  for (const name of names) {
    const value = (b: Bid) => (name === 'bids' ? b : name === 'bidders' ? b.bidder : b.auction);
    const count = (xs: Bid[]) => (name === 'bids' ? xs.length : new Set(xs.map(value)).size);
    r[`total_${name}`] = count(bids);
    for (let k = 0; k < 3; k++) r[`rank${k + 1}_${name}`] = count(bids.filter((b) => band(b.price) === k));
  }
  return r;
}

export const REFERENCES: Record<string, { events: number; expected: (d: Data) => Row[]; compare?: (rows: Row[]) => Row[] }> = {
  q0: { events: 6_000, expected: (d) => d.bids.map(proj0) },
  q1: { events: 6_000, expected: (d) => d.bids.map((b) => ({ ...proj0(b), price: (b.price * 908) / 1000 })) },
  q2: { events: 20_000, expected: (d) => d.bids.filter((b) => b.auction % 123 === 0).map((b) => ({ auction: b.auction, price: b.price })) },
  q3: {
    events: 20_000,
    expected: (d) => {
      const rows: Row[] = [];
      for (const a of d.auctions) {
        if (a.category !== 10) continue;
        for (const p of d.persons)
          if (p.id === a.seller && ['OR', 'ID', 'CA'].includes(p.state))
            rows.push({ name: p.name, city: p.city, state: p.state, id: a.id });
      }
      return rows;
    },
  },
  q4: {
    events: 20_000,
    expected: (d) =>
      [...groupBy(winners(d), (w) => w.a.category)].map(([category, ws]) => ({
        id: category,
        final: Math.trunc(ws.reduce((s, w) => s + w.b.price, 0) / ws.length),
      })),
  },
  q5: {
    events: 12_000,
    expected: (d) => {
      const counts = new Map<number, Map<number, number>>(); // window start -> auction -> count
      for (const b of d.bids) {
        for (let s = b.dateTime - (b.dateTime % 2000); s > b.dateTime - 10_000; s -= 2000) {
          const w = counts.get(s) ?? counts.set(s, new Map()).get(s)!;
          w.set(b.auction, (w.get(b.auction) ?? 0) + 1);
        }
      }
      const rows: Row[] = [];
      for (const w of counts.values()) {
        const max = Math.max(...w.values());
        for (const [auction, num] of w) if (num >= max) rows.push({ auction, num });
      }
      return rows;
    },
  },
  q6: {
    events: 20_000,
    expected: (d) => {
      const rows: Row[] = [];
      for (const [seller, ws] of groupBy(winners(d), (w) => w.a.seller)) {
        ws.sort((x, y) => x.a.expires - y.a.expires || x.a.id - y.a.id);
        ws.forEach((_, i) => {
          const last = ws.slice(Math.max(0, i - 10), i + 1);
          rows.push({ seller, avg_price: Math.trunc(last.reduce((s, w) => s + w.b.price, 0) / last.length) });
        });
      }
      return rows;
    },
  },
  q7: {
    events: 25_000,
    expected: (d) => {
      const rows: Row[] = [];
      for (const [start, ws] of groupBy(d.bids, (b) => b.dateTime - (b.dateTime % 10_000))) {
        const max = Math.max(...ws.map((b) => b.price));
        for (const b of d.bids) {
          if (b.price === max && b.dateTime >= start && b.dateTime <= start + 10_000)
            rows.push({ auction: b.auction, price: b.price, bidder: b.bidder, dateTime: b.dateTime, extra: b.extra });
        }
      }
      return rows;
    },
  },
  q8: {
    events: 20_000,
    expected: (d) => {
      const w = (ts: number) => ts - (ts % 10_000);
      const sellers = new Set(d.auctions.map((a) => `${a.seller}/${w(a.dateTime)}`));
      return d.persons
        .filter((p) => sellers.has(`${p.id}/${w(p.dateTime)}`))
        .map((p) => ({ id: p.id, name: p.name, stime: w(p.dateTime) }));
    },
  },
  q9: {
    events: 20_000,
    expected: (d) =>
      winners(d).map(({ a, b }) => ({
        ...a,
        auction: b.auction,
        bidder: b.bidder,
        price: b.price,
        bid_dateTime: b.dateTime,
        bid_extra: b.extra,
      })),
  },
  q10: { events: 6_000, expected: (d) => d.bids.map((b) => ({ ...proj0(b), dt: day(b.dateTime), hm: hm(b.dateTime) })) },
  q11: {
    events: 20_000,
    expected: (d) => {
      const rows: Row[] = [];
      for (const [bidder, bs] of groupBy(d.bids, (b) => b.bidder)) {
        const times = bs.map((b) => b.dateTime).sort((x, y) => x - y);
        let start = times[0];
        let n = 0;
        for (let i = 0; i < times.length; i++) {
          n++;
          if (i === times.length - 1 || times[i + 1] >= times[i] + 10_000) {
            rows.push({ bidder, bid_count: n, starttime: start, endtime: times[i] + 10_000 });
            start = times[i + 1];
            n = 0;
          }
        }
      }
      return rows;
    },
  },
  q12: {
    events: 12_000,
    expected: (d) => [...groupBy(d.bids, (b) => b.bidder)].map(([bidder, bs]) => ({ bidder, bid_count: bs.length })),
    compare: (rows) =>
      [...groupBy(rows, (r) => r.bidder as number)].map(([bidder, rs]) => ({
        bidder,
        bid_count: rs.reduce((s, r) => s + (r.bid_count as number), 0),
      })),
  },
  q13: {
    events: 6_000,
    expected: (d) =>
      d.bids.map((b) => ({
        auction: b.auction,
        bidder: b.bidder,
        price: b.price,
        dateTime: b.dateTime,
        value: String(b.auction % 10_000),
      })),
  },
  q14: {
    events: 12_000,
    expected: (d) =>
      d.bids
        .filter((b) => (b.price * 908) / 1000 > 1_000_000 && (b.price * 908) / 1000 < 50_000_000)
        .map((b) => {
          const h = new Date(b.dateTime).getUTCHours();
          const bidTimeType = h >= 8 && h <= 18 ? 'dayTime' : h <= 6 || h >= 20 ? 'nightTime' : 'otherTime';
          return {
            auction: b.auction,
            bidder: b.bidder,
            price: (b.price * 908) / 1000,
            bidTimeType,
            dateTime: b.dateTime,
            extra: b.extra,
            c_counts: b.extra.split('c').length - 1,
          };
        }),
  },
  q15: { events: 20_000, expected: (d) => [...groupBy(d.bids, (b) => day(b.dateTime))].map(([dd, bs]) => ({ day: dd, ...bandStats(bs) })) },
  q16: {
    events: 12_000,
    expected: (d) =>
      [...groupBy(d.bids, (b) => `${b.channel}|${day(b.dateTime)}`)].map(([, bs]) => ({
        channel: bs[0].channel,
        day: day(bs[0].dateTime),
        minute: bs
          .map((b) => hm(b.dateTime))
          .sort()
          .at(-1),
        ...bandStats(bs),
      })),
  },
  q17: {
    events: 12_000,
    expected: (d) =>
      [...groupBy(d.bids, (b) => `${b.auction}|${day(b.dateTime)}`)].map(([, bs]) => {
        const prices = bs.map((b) => b.price);
        const sum = prices.reduce((s, p) => s + p, 0);
        return {
          auction: bs[0].auction,
          day: day(bs[0].dateTime),
          total_bids: bs.length,
          rank1_bids: prices.filter((p) => band(p) === 0).length,
          rank2_bids: prices.filter((p) => band(p) === 1).length,
          rank3_bids: prices.filter((p) => band(p) === 2).length,
          min_price: Math.min(...prices),
          max_price: Math.max(...prices),
          avg_price: Math.trunc(sum / bs.length),
          sum_price: sum,
        };
      }),
  },
  q18: {
    events: 12_000,
    expected: (d) =>
      [...groupBy(d.bids, (b) => `${b.bidder}|${b.auction}`)].map(([, bs]) => {
        const last = bs.reduce((x, y) =>
          y.dateTime > x.dateTime ||
          (y.dateTime === x.dateTime && (y.price > x.price || (y.price === x.price && y.extra + y.url > x.extra + x.url)))
            ? y
            : x,
        );
        return { ...last };
      }),
  },
  q19: {
    events: 12_000,
    expected: (d) =>
      [...groupBy(d.bids, (b) => b.auction)].flatMap(([, bs]) =>
        bs
          .sort(byRank)
          .slice(0, 10)
          .map((b, i) => ({ ...b, rank_number: i + 1 })),
      ),
  },
  q20: {
    events: 20_000,
    expected: (d) => {
      const auctions = new Map(d.auctions.filter((a) => a.category === 10).map((a) => [a.id, a]));
      return d.bids.flatMap((b) => {
        const a = auctions.get(b.auction);
        if (!a) return [];
        return [
          {
            auction: b.auction,
            bidder: b.bidder,
            price: b.price,
            channel: b.channel,
            url: b.url,
            bid_dateTime: b.dateTime,
            bid_extra: b.extra,
            itemName: a.itemName,
            description: a.description,
            initialBid: a.initialBid,
            reserve: a.reserve,
            auction_dateTime: a.dateTime,
            expires: a.expires,
            seller: a.seller,
            category: a.category,
            auction_extra: a.extra,
          },
        ];
      });
    },
  },
  q21: {
    events: 6_000,
    expected: (d) =>
      d.bids.flatMap((b) => {
        const hot = ({ apple: '0', google: '1', facebook: '2', baidu: '3' } as Record<string, string>)[b.channel.toLowerCase()];
        const m = /(?:&|^)channel_id=([^&]*)/.exec(b.url);
        const id = hot ?? m?.[1];
        return id === undefined ? [] : [{ auction: b.auction, bidder: b.bidder, price: b.price, channel: b.channel, channel_id: id }];
      }),
  },
  q22: {
    events: 6_000,
    expected: (d) =>
      d.bids.map((b) => {
        const [, , , dir1 = null, dir2 = null, dir3 = null] = b.url.split('/');
        return { auction: b.auction, bidder: b.bidder, price: b.price, channel: b.channel, dir1, dir2, dir3 };
      }),
  },
};

/** The committed rows of `dir` against the reference, as sorted canonical JSON. */
export function compareCommitted(q: string, dir: string, expected: Row[]): { got: string[]; expected: string[] } {
  const ref = REFERENCES[q];
  const rows = readCommitted<Row>(dir);
  return { got: multiset(ref.compare ? ref.compare(rows) : rows), expected: multiset(expected) };
}
