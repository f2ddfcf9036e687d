// test-lane: pair
/**
 * Window aggregates of COUNT(*)s only by at most one group column keep a number per window and
 * key, and take the group value from the key (aggregate.ts, counting): the group value must come
 * out with its type (a number stays a number), a NULL group is its own group and comes out as
 * NULL, two COUNT(*) columns both hold the count, and a window without GROUP BY columns counts
 * every row. A GROUP BY without aggregate calls (a distinct, q8's) by one column runs as the
 * same operator, and by two as the object-accumulator one without aggregate states. References computed here from TUMBLE's semantics (a row belongs to the window
 * [floor(ts / size) * size, + size)), at parallelism 2.
 */
import { describe, it } from 'node:test';
import { assertSqlCases, tablesInTempDir } from '../helpers/sql-cases.js';
import { prng } from '../helpers/prng.js';

interface Ev {
  id: number;
  g: number | null;
  ts: number;
}
const SIZE = 1000;

function events(): Ev[] {
  const rnd = prng(41);
  return Array.from({ length: 300 }, (_, id) => ({
    id,
    g: rnd() < 0.15 ? null : Math.floor(rnd() * 6),
    ts: id * 20 + Math.floor(rnd() * 15),
  }));
}

function counts(rows: Ev[], by: (e: Ev) => unknown): Map<string, { g: unknown; start: number; n: number }> {
  const m = new Map<string, { g: unknown; start: number; n: number }>();
  for (const e of rows) {
    const start = Math.floor(e.ts / SIZE) * SIZE;
    const k = JSON.stringify([by(e), start]);
    const c = m.get(k) ?? m.set(k, { g: by(e), start, n: 0 }).get(k)!;
    c.n++;
  }
  return m;
}

describe('SQL counting window aggregates', () => {
  const fx = tablesInTempDir('eddy-count-window-', events, (rows) => ({ 'ev.jsonl': rows }));

  it('COUNT(*) per group and window: group values keep their type, NULL is a group, no GROUP BY column counts all; distinct groups', async () => {
    const ddl = `CREATE TABLE ev (id BIGINT, g BIGINT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '0' SECOND) WITH ('connector' = 'filesystem', 'path' = '${fx.dir}/ev.jsonl', 'format' = 'json');\n`;
    const tumble = "TABLE(TUMBLE(TABLE ev, DESCRIPTOR(ts), INTERVAL '1' SECOND))";
    const byGroup = [...counts(fx.data, (e) => e.g).values()].map((c) => ({ g: c.g, ws: c.start, n: c.n, m: c.n }));
    const all = [...counts(fx.data, () => 0).values()].map((c) => ({ ws: c.start, we: c.start + SIZE, n: c.n }));
    await assertSqlCases(
      fx.dir,
      ddl,
      [
        {
          name: 'by_group',
          cols: 'g BIGINT, ws TIMESTAMP(3), n BIGINT, m BIGINT',
          sql: `SELECT g, window_start, COUNT(*), COUNT(*) FROM ${tumble} GROUP BY g, window_start, window_end`,
          expected: byGroup,
        },
        {
          // No aggregate call: a distinct by one column runs as the counting operator, its count unread.
          name: 'distinct_group',
          cols: 'g BIGINT, ws TIMESTAMP(3), we TIMESTAMP(3)',
          sql: `SELECT g, window_start, window_end FROM ${tumble} GROUP BY g, window_start, window_end`,
          expected: byGroup.map((c) => ({ g: c.g, ws: c.ws, we: c.ws + SIZE })),
        },
        {
          // By two columns: the object-accumulator operator without aggregate states.
          name: 'distinct_pair',
          cols: 'g BIGINT, p BIGINT, ws TIMESTAMP(3)',
          sql: `SELECT g, id % 2, window_start FROM ${tumble} GROUP BY g, id % 2, window_start, window_end`,
          expected: [...counts(fx.data, (e) => JSON.stringify([e.g, e.id % 2])).values()].map((c) => {
            const [g, p] = JSON.parse(c.g as string) as [number | null, number];
            return { g, p, ws: c.start };
          }),
        },
        {
          name: 'all_rows',
          cols: 'ws TIMESTAMP(3), we TIMESTAMP(3), n BIGINT',
          sql: `SELECT window_start, window_end, COUNT(*) FROM ${tumble} GROUP BY window_start, window_end`,
          expected: all,
        },
      ],
      2,
    );
  });
});
