// What every Nexmark query job shares: the generated events with the 4 s watermark of the
// queries' DDL, the person / auction / bid views, the sink (--arg output=DIR: JSON lines, else
// discarded), and the winning-bid stage (Beam's WinningBids) that q4, q6 and q9 build on.
//
// Arguments of every query: --arg events=N (required), --arg rate=R (events per second of
// event time, default 10,000,000), --arg output=DIR (optional); --arg input=FILE reads events
// as JSON lines ({ event_type, person | auction | bid }) instead of generating them.
import {
  Sinks,
  Sources,
  WatermarkStrategy,
  NEXMARK_WATERMARK_DELAY_MS,
  nexmarkEventTime,
  type Auction,
  type Bid,
  type DataStream,
  type SingleOutputStreamOperator,
  type NexmarkEvent,
  type Person,
  type Sink,
  type StreamExecutionEnvironment,
} from 'eddy';

export type { Auction, Bid, Person, NexmarkEvent };

/** The time of event-time timers that fire only at the end of the (bounded) input. */
export const END_OF_INPUT = Number.MAX_SAFE_INTEGER;

export interface Views {
  events: DataStream<NexmarkEvent>;
  persons: DataStream<Person>;
  auctions: DataStream<Auction>;
  bids: DataStream<Bid>;
}

/** The generator source (uid 'nexmark') with timestamps and the `dateTime - 4 s` watermark. */
export function nexmarkEvents(env: StreamExecutionEnvironment): DataStream<NexmarkEvent> {
  const strategy =
    WatermarkStrategy.forBoundedOutOfOrderness<NexmarkEvent>(NEXMARK_WATERMARK_DELAY_MS).withTimestampAssigner(nexmarkEventTime);
  // Recorded or hand-written events (one JSON event per line, in time order) in place of the
  // generator: the same query over data chosen to hit an edge the generator rarely makes.
  const input = env.arg('input', '');
  if (input !== '') return env.fromSource(Sources.jsonLines<NexmarkEvent>(input), 'nexmark', strategy).uid('nexmark');
  const events = Number(env.arg('events'));
  const rate = Number(env.arg('rate', '10000000'));
  return env.fromSource(Sources.nexmark({ events, rate }), 'nexmark', strategy).uid('nexmark');
}

/** One view of ddl_views.sql: `SELECT <type>.* FROM datagen WHERE event_type = <type>`. */
function view<T>(events: DataStream<NexmarkEvent>, type: 0 | 1 | 2, uid: string): DataStream<T> {
  const field = type === 0 ? 'person' : type === 1 ? 'auction' : 'bid';
  return events
    .flatMap<T>((e, out) => {
      if (e.event_type === type) out.collect(e[field] as T);
    })
    .uid(uid);
}

/** The events and their views; a view joins the graph only when the query reads it. */
export function nexmarkViews(env: StreamExecutionEnvironment): Views {
  const events = nexmarkEvents(env);
  const cache = new Map<string, DataStream<unknown>>();
  const lazy = <T>(type: 0 | 1 | 2, uid: string) =>
    (cache.get(uid) ?? cache.set(uid, view<T>(events, type, uid) as unknown as DataStream<unknown>).get(uid)) as unknown as DataStream<T>;
  return {
    events,
    get persons() {
      return lazy<Person>(0, 'persons');
    },
    get auctions() {
      return lazy<Auction>(1, 'auctions');
    },
    get bids() {
      return lazy<Bid>(2, 'bids');
    },
  };
}

/** Only the bids (most queries read nothing else). */
export function nexmarkBids(env: StreamExecutionEnvironment): DataStream<Bid> {
  return view<Bid>(nexmarkEvents(env), 2, 'bids');
}

/** JSON lines in --arg output=DIR (two-phase commit), else a sink that drops everything. */
export function querySink<T>(env: StreamExecutionEnvironment): Sink<T> {
  const dir = env.arg('output', '');
  return dir ? Sinks.jsonLinesFile<T>(dir) : Sinks.discard<T>();
}

/** An auction with the highest of its bids made while it was open (dateTime … expires). */
export interface WinningBid {
  auction: Auction;
  bid: Bid;
}

/**
 * Beam's WinningBids: keyed by auction id, the auction and its best valid bid (highest price,
 * then earliest dateTime, then the rest of the bid as a tie-break so the result is unique),
 * emitted when the watermark passes `expires`: no valid bid can come after that. A bid that
 * arrives before its auction (bids may name auctions a few ids ahead) waits in a list.
 * Auctions without a valid bid produce nothing, as the SQL inner join.
 */
export function winningBids(auctions: DataStream<Auction>, bids: DataStream<Bid>): SingleOutputStreamOperator<WinningBid> {
  return auctions
    .connect(bids)
    .keyBy(
      (a) => a.id,
      (b) => b.auction,
    )
    .process<WinningBid>({
      processElement1(a, ctx) {
        ctx.state.value<Auction>('auction').update(a);
        const early = ctx.state.list<Bid>('early');
        let best: Bid | undefined;
        for (const b of early.get()) if (b.dateTime >= a.dateTime && b.dateTime <= a.expires && better(b, best)) best = b;
        early.clear();
        if (best) ctx.state.value<Bid>('best').update(best);
        ctx.timers.registerEventTimeTimer(a.expires);
      },
      processElement2(b, ctx) {
        const a = ctx.state.value<Auction>('auction').value();
        if (a === undefined) {
          ctx.state.list<Bid>('early').add(b);
          return;
        }
        if (b.dateTime < a.dateTime || b.dateTime > a.expires) return;
        const best = ctx.state.value<Bid>('best');
        if (better(b, best.value())) best.update(b);
      },
      onTimer(_ts, ctx, out) {
        const auction = ctx.state.value<Auction>('auction').value()!;
        const bid = ctx.state.value<Bid>('best').value();
        if (bid) out.collect({ auction, bid });
        ctx.state.value('auction').clear();
        ctx.state.value('best').clear();
      },
    });
}

/** The order of q9's ROW_NUMBER (price DESC, dateTime ASC), completed to a total order. */
export function better(b: Bid, than: Bid | undefined): boolean {
  if (than === undefined) return true;
  if (b.price !== than.price) return b.price > than.price;
  if (b.dateTime !== than.dateTime) return b.dateTime < than.dateTime;
  if (b.bidder !== than.bidder) return b.bidder < than.bidder;
  return b.extra + b.url < than.extra + than.url;
}

/** DATE_FORMAT(ts, 'yyyy-MM-dd') in UTC (Flink's default session time zone). */
export function day(ts: number): string {
  return new Date(ts).toISOString().slice(0, 10);
}

/** DATE_FORMAT(ts, 'HH:mm') in UTC. */
export function hourMinute(ts: number): string {
  return new Date(ts).toISOString().slice(11, 16);
}

const DAY_MS = 86_400_000;

/** The first ms after the UTC day of ts: when the watermark passes it, that day is complete. */
export function endOfDay(ts: number): number {
  return Math.floor(ts / DAY_MS) * DAY_MS + DAY_MS;
}
