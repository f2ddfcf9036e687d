// Nexmark q3, local item suggestion: auctions of category 10 joined with their sellers from
// OR, ID or CA -> (name, city, state, id). A regular (unbounded) inner join: both sides stay in
// keyed state, and each match is emitted once, whichever side comes second.
import { defineJob } from 'eddy';
import { nexmarkViews, querySink, type Auction, type Person } from './common.js';

const STATES = new Set(['OR', 'ID', 'CA']);

export default defineJob((env) => {
  const { persons, auctions } = nexmarkViews(env);
  auctions
    .filter((a) => a.category === 10)
    .uid('category10')
    .connect(persons.filter((p) => STATES.has(p.state)).uid('states'))
    .keyBy(
      (a) => a.seller,
      (p) => p.id,
    )
    .process<{ name: string; city: string; state: string; id: number }>({
      processElement1(a: Auction, ctx, out) {
        const p = ctx.state.value<Person>('person').value();
        if (p) out.collect({ name: p.name, city: p.city, state: p.state, id: a.id });
        else ctx.state.list<number>('auctions').add(a.id);
      },
      processElement2(p: Person, ctx, out) {
        ctx.state.value<Person>('person').update(p);
        const waiting = ctx.state.list<number>('auctions');
        for (const id of waiting.get()) out.collect({ name: p.name, city: p.city, state: p.state, id });
        waiting.clear();
      },
    })
    .uid('q3')
    .sinkTo(querySink(env))
    .uid('sink');
});
