// Top-N over random input, four ways into collect sinks: append input (fresh rows) and
// changelog input (changelog-inputs.ts orders), each with and without the row number column.
// ROW_NUMBER() OVER (PARTITION BY cat ORDER BY amount DESC, id) <= 3.
// --arg n=ROWS --arg seed=S
import { defineJob, Sinks, Sources } from '../../../core/index.js';
import { insertOnly, topN, type ChangeRow, type Row, type SortField } from '../../../core/sql/runtime/index.js';
import { prng } from '../../helpers/prng.js';
import { orderChanges } from '../changelog-inputs.js';

/** `n` fresh rows (id, cat, amount): the append-only input. */
export function appendRows(seed: number, n: number): Row[] {
  const r = prng(seed ^ 0xa99e);
  const rows: Row[] = [];
  for (let i = 0; i < n; i++)
    rows.push({ id: i, cat: ['p', 'q', 'r', 's', null][Math.floor(r() * 5)], amount: r() < 0.1 ? null : Math.floor(r() * 1000) });
  return rows;
}

export const TOP = 3;
const orderBy: SortField[] = [{ value: (r) => r.amount, desc: true }, { value: (r) => r.id }];

export default defineJob((env) => {
  const n = Number(env.arg('n'));
  const seed = Number(env.arg('seed'));
  const rows = appendRows(seed, n);
  const changes = orderChanges(seed, n);
  const appendIn = insertOnly(
    env
      .fromSource(Sources.generator({ count: n, fn: (i) => rows[i] }), 'rows')
      .uid('rows')
      .setParallelism(1),
    { uid: 'rows-as-changes' },
  );
  const changelogIn = env
    .fromSource(Sources.generator({ count: n, fn: (i) => changes[i] }), 'changes')
    .uid('changes')
    .setParallelism(1);
  for (const [name, input, insertOnlyInput] of [
    ['append', appendIn, true],
    ['changelog', changelogIn, false],
  ] as const) {
    for (const rn of [true, false]) {
      const uid = `${name}-${rn ? 'rn' : 'set'}`;
      topN(input, { uid, partitionBy: (r) => r.cat, orderBy, n: TOP, rowNumberColumn: rn ? 'rn' : undefined, insertOnlyInput })
        .sinkTo(Sinks.collect<ChangeRow>())
        .uid(`${uid}-out`);
    }
  }
});
