/**
 * The heap backend's incremental snapshots of q20-like list state, in this process, without a
 * job around them: Nexmark bids (decoded from msgpack, as a task receives them over its ring)
 * appended to list state keyed by auction, then a delta snapshot taken and packed on the loop,
 * the path q20's keyed task takes at each checkpoint. Prints one JSON line: the CPU ms of each
 * measured delta (after the warm-up ones), their median and the bytes per delta.
 *
 *   node dist/bench/heap-list-snapshot.js [--bids 200000] [--deltas 10] [--warmup 4]
 *
 * `--bids` bids are generated per delta; those of key groups 0-63 (half) are kept, as one of
 * two subtasks would keep them. CPU is the whole process's (process.cpuUsage), so run it alone.
 */
import { Packr, Unpackr } from 'msgpackr';
import { resolveConfig } from '../core/connectors/sources/nexmark/config.js';
import { eventMaker } from '../core/connectors/sources/nexmark/event.js';
import type { Bid } from '../core/connectors/sources/nexmark/model.js';
import { HeapKeyedStore } from '../core/state/heap/heap-keyed-store.js';
import { keyGroupFor } from '../core/state/key-groups.js';
import { ListStateHandle } from '../core/state/keyed-state.js';
import { failWith, parseFlags, positiveInt } from './flags.js';

const fail = failWith('heap-list-snapshot');
const { values } = parseFlags(
  {
    options: {
      bids: { type: 'string', default: '200000' },
      deltas: { type: 'string', default: '10' },
      warmup: { type: 'string', default: '4' },
    },
  },
  fail,
);
const perDelta = positiveInt('bids', values.bids, fail)!;
const deltas = positiveInt('deltas', values.deltas, fail)!;
const warmup = positiveInt('warmup', values.warmup, fail)!;

const MAX_PARALLELISM = 128;
const AUCTIONS = 20_000;
const events = 1_200_000;
const make = eventMaker(resolveConfig({ events }));
const generated: Bid[] = [];
for (let i = 0; i < events; i++) {
  const e = make(i);
  if (e.bid) generated.push(e.bid);
}
const bids = new Unpackr({ useRecords: true }).unpack(new Packr({ useRecords: true }).pack(generated)) as Bid[];

const store = new HeapKeyedStore(0, MAX_PARALLELISM / 2 - 1);
const list = new ListStateHandle<Bid>(store, store.register('bids', 'list'));
const changes = store.trackChanges();
const times: number[] = [];
let bytes = 0;
let next = 0;
for (let id = 1; id <= warmup + deltas; id++) {
  for (let i = 0; i < perDelta; i++) {
    const b = bids[next++ % bids.length];
    const k = b.auction % AUCTIONS;
    const kg = keyGroupFor(k, MAX_PARALLELISM);
    if (kg > store.rangeEnd) continue;
    store.setCurrentKey(k, kg);
    list.add(b);
  }
  const cut = changes.cut(id);
  const cpu = process.cpuUsage();
  const snap = await store.snapshot(id, id === 1 ? undefined : cut).run();
  const used = process.cpuUsage(cpu);
  changes.confirm(id);
  if (id > warmup) {
    times.push((used.user + used.system) / 1000);
    bytes += snap.data.byteLength;
  }
  snap.release?.();
}
const sorted = [...times].sort((a, b) => a - b);
console.log(
  JSON.stringify({
    medianMs: sorted[sorted.length >> 1],
    ms: times.map((t) => Math.round(t)),
    mbPerDelta: +(bytes / deltas / 1e6).toFixed(2),
  }),
);
