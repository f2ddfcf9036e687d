// Nexmark q8, monitor new users: people who opened an auction in the same 10 s tumbling
// window in which they registered -> (id, name, stime = window start). Persons and auctions
// (by seller) meet in one keyed window, as Flink's window join builds it; each person appears
// once per window however many auctions they opened (the SQL groups both sides first).
import { defineJob, TumblingEventTimeWindows } from 'eddy';
import { nexmarkViews, querySink } from './common.js';

/** A person (person set) or an auction's seller (person null). */
type Side = { person: { id: number; name: string } | null; seller: number };

export default defineJob((env) => {
  const { persons, auctions } = nexmarkViews(env);
  persons
    .map<Side>((p) => ({ person: { id: p.id, name: p.name }, seller: 0 }))
    .uid('personSide')
    .union(auctions.map<Side>((a) => ({ person: null, seller: a.seller })).uid('auctionSide'))
    .keyBy((s) => (s.person ? s.person.id : s.seller))
    .window(TumblingEventTimeWindows.of(10_000))
    .process<{ id: number; name: string; stime: number }>((_key, ctx, elements, out) => {
      let sold = false;
      const people = new Map<string, { id: number; name: string }>();
      for (const e of elements) {
        if (e.person) people.set(e.person.name, e.person);
        else sold = true;
      }
      if (sold) for (const p of people.values()) out.collect({ id: p.id, name: p.name, stime: ctx.window.start });
    })
    .uid('q8')
    .sinkTo(querySink(env))
    .uid('sink');
});
