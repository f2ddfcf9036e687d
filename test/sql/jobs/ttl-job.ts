// Idle-state TTL in processing time: records released by a wall-clock schedule (ms after the
// source opens) into a GROUP BY and an inner join, both with ttlMs = TTL.
// Key 'a' is touched at 0 and again at GAP (> TTL): its group is forgotten in between. Key 'b' is
// touched every STEP ms (< TTL) until GAP: it stays. Join key 'j': left at 0, right at GAP (the
// left row expired); key 'm': left at GAP - STEP, right at GAP (both alive).
import { defineJob, Sinks } from '../../../core/index.js';
import type { Collector } from '../../../core/contract/functions.js';
import type { Source } from '../../../core/connectors/types.js';
import { groupAggregate, regularJoin, type ChangeRow, type Row } from '../../../core/sql/runtime/index.js';

export const TTL = 1000;
export const GAP = 3000;
export const STEP = 100;

/** [release time ms, side, row] for the whole run. */
export function schedule(): [number, 'agg' | 'left' | 'right', Row][] {
  const s: [number, 'agg' | 'left' | 'right', Row][] = [[0, 'agg', { k: 'a', v: 1 }]];
  for (let t = 0; t <= GAP; t += STEP) s.push([t, 'agg', { k: 'b', v: 1 }]);
  s.push([GAP, 'agg', { k: 'a', v: 5 }]);
  s.push(
    [0, 'left', { k: 'j', l: 1 }],
    [GAP - STEP, 'left', { k: 'm', l: 2 }],
    [GAP, 'right', { k: 'j', r: 3 }],
    [GAP, 'right', { k: 'm', r: 4 }],
  );
  return s.sort((x, y) => x[0] - y[0]);
}

/** A bounded source releasing each scheduled record of `side` once its time has come. */
function scheduled(side: 'agg' | 'left' | 'right'): Source<ChangeRow> {
  const items = schedule().filter((e) => e[1] === side);
  return {
    kind: `scheduled-${side}`,
    stateful: false,
    bounded: true,
    maxParallelism: 1,
    createReader() {
      let start = 0;
      let next = 0;
      return {
        idleMs: 10,
        poll(out: Collector<ChangeRow>) {
          if (start === 0) start = Date.now();
          while (next < items.length && items[next][0] <= Date.now() - start) out.collect({ kind: '+I', row: items[next++][2] });
          return next === items.length ? 'end' : 'idle';
        },
      };
    },
  };
}

export default defineJob((env) => {
  const agg = groupAggregate(env.fromSource(scheduled('agg'), 'agg-in').setParallelism(1), {
    uid: 'agg',
    groupBy: ['k'],
    aggregates: [
      { kind: 'count*', as: 'n' },
      { kind: 'sum', arg: (r) => r.v, as: 'total' },
    ],
    ttlMs: TTL,
  });
  agg.sinkTo(Sinks.collect<ChangeRow>()).uid('agg-out');
  const joined = regularJoin(
    env.fromSource(scheduled('left'), 'left-in').setParallelism(1),
    env.fromSource(scheduled('right'), 'right-in').setParallelism(1),
    {
      uid: 'join',
      type: 'inner',
      leftKey: (r) => r.k,
      rightKey: (r) => r.k,
      combine: (l, r) => ({ k: l?.k ?? r?.k, l: l?.l ?? null, r: r?.r ?? null }),
      ttlMs: TTL,
    },
  );
  joined.sinkTo(Sinks.collect<ChangeRow>()).uid('join-out');
});
