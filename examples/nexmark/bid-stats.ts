// The aggregates q15 and q16 share: count(*) and count(DISTINCT bidder / auction), each in
// total and in the three price bands of their FILTER clauses (< 10,000; < 1,000,000; above).

/** Band of a price: 0 (< $100), 1 (< $10,000), 2 (the rest), in cents as the queries write it. */
export function band(price: number): 0 | 1 | 2 {
  return price < 10_000 ? 0 : price < 1_000_000 ? 1 : 2;
}

/**
 * Counters kept in keyed state; the distinct sets are Maps of id -> bit set of bands seen. Maps,
 * not objects keyed by id: a checkpoint encodes a Map as one msgpack map, where an object is a
 * record whose thousands of keys are its structure, built anew for every snapshot.
 */
export interface BidStats {
  bids: [number, number, number];
  bidders: Map<number, number>;
  auctions: Map<number, number>;
}

export function emptyStats(): BidStats {
  return { bids: [0, 0, 0], bidders: new Map(), auctions: new Map() };
}

export function addBid(s: BidStats, bidder: number, auction: number, price: number): void {
  const b = band(price);
  s.bids[b]++;
  s.bidders.set(bidder, (s.bidders.get(bidder) ?? 0) | (1 << b));
  s.auctions.set(auction, (s.auctions.get(auction) ?? 0) | (1 << b));
}

function distinct(seen: Map<number, number>): [number, number, number, number] {
  const c: [number, number, number, number] = [0, 0, 0, 0];
  for (const bits of seen.values()) {
    c[0]++;
    for (let b = 0; b < 3; b++) if (bits & (1 << b)) c[b + 1]++;
  }
  return c;
}

/** The twelve columns total_bids … rank3_auctions. */
export function statsColumns(s: BidStats) {
  const [totalBidders, r1b, r2b, r3b] = distinct(s.bidders);
  const [totalAuctions, r1a, r2a, r3a] = distinct(s.auctions);
  return {
    total_bids: s.bids[0] + s.bids[1] + s.bids[2],
    rank1_bids: s.bids[0],
    rank2_bids: s.bids[1],
    rank3_bids: s.bids[2],
    total_bidders: totalBidders,
    rank1_bidders: r1b,
    rank2_bidders: r2b,
    rank3_bidders: r3b,
    total_auctions: totalAuctions,
    rank1_auctions: r1a,
    rank2_auctions: r2a,
    rank3_auctions: r3a,
  };
}
