// test-lane: pair
/**
 * SQL queries planned and run on a known input file, at parallelism 3 (1 and 3 with EDDY_SOAK=1); each result is
 * compared with a reference computed here from SQL's semantics (Flink's window TVFs: windows
 * [start, end), TUMBLE by size, HOP(slide, size), CUMULATE(step, max size), SESSION(gap) per
 * key; AVG over an integer column truncates), never by calling eddy.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { runJob } from '../../core/index.js';
import { prng } from '../helpers/prng.js';
import { repoRoot } from '../helpers/paths.js';
import { canonRows, readJsonLinesDir, writeJsonLines } from '../helpers/json-rows.js';

const SQL_JOB = join(repoRoot, 'dist', 'core', 'sql', 'sql-job.js');
const NAMES = ['ann', 'bob', 'cy', 'dee', 'eve'];
const BASE = Date.UTC(2024, 0, 1);

interface In {
  id: number;
  name: string;
  amount: number;
  ts: number;
}

/** 300 rows, timestamps rising ~120 ms apart with up to 400 ms of disorder (the watermark allows 1 s). */
function input(): In[] {
  const rnd = prng(17);
  const rows: In[] = [];
  for (let i = 0; i < 300; i++) {
    rows.push({
      id: i,
      name: NAMES[Math.floor(rnd() * NAMES.length)]!,
      amount: Math.floor(rnd() * 100),
      ts: BASE + i * 120 + Math.floor(rnd() * 400),
    });
  }
  return rows;
}

const SCRIPT = (dir: string): string => `
CREATE TABLE src (
  id BIGINT, name VARCHAR, amount INT, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND
) WITH ('connector' = 'filesystem', 'path' = '${dir}/in.jsonl', 'format' = 'json');
CREATE TABLE other (
  id BIGINT, name VARCHAR, amount INT, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND
) WITH ('connector' = 'filesystem', 'path' = '${dir}/in.jsonl', 'format' = 'json');
${['proj', 'tumble', 'hop', 'cumulate', 'session', 'unioned', 'ijoin', 'wjoin'].map((t) => `CREATE TABLE ${t}_out (${t === 'proj' ? 'id BIGINT, who VARCHAR, twice INT, band VARCHAR' : t === 'unioned' ? 'id BIGINT, tag VARCHAR' : t === 'ijoin' ? 'a BIGINT, b BIGINT, gap BIGINT' : t === 'wjoin' ? 'name VARCHAR, ws TIMESTAMP(3), n BIGINT, s INT' : 'name VARCHAR, ws TIMESTAMP(3), we TIMESTAMP(3), n BIGINT, s INT, av INT, mn INT, mx INT, dn BIGINT, big BIGINT'}) WITH ('connector' = 'filesystem', 'path' = '${dir}/${t}', 'format' = 'json');`).join('\n')}

INSERT INTO proj_out
SELECT id, UPPER(name), amount * 2, CASE WHEN amount >= 50 THEN 'high' WHEN amount IS NULL THEN 'none' ELSE 'low' END
FROM src WHERE MOD(amount, 3) <> 0 AND name IN ('ann', 'bob', 'cy') AND name NOT LIKE 'c%';

${[
  ['tumble', "TUMBLE(TABLE src, DESCRIPTOR(ts), INTERVAL '2' SECOND)"],
  ['hop', "HOP(TABLE src, DESCRIPTOR(ts), INTERVAL '1' SECOND, INTERVAL '3' SECOND)"],
  ['cumulate', "CUMULATE(TABLE src, DESCRIPTOR(ts), INTERVAL '1' SECOND, INTERVAL '4' SECOND)"],
  ['session', "SESSION(TABLE src, DESCRIPTOR(ts), INTERVAL '700' MILLISECOND)"],
]
  .map(
    ([t, tvf]) => `INSERT INTO ${t}_out
SELECT name, window_start, window_end, COUNT(*), SUM(amount), AVG(amount), MIN(amount), MAX(amount),
       COUNT(DISTINCT amount / 10), COUNT(*) FILTER (WHERE amount > 50)
FROM TABLE(${tvf})
GROUP BY name, window_start, window_end;`,
  )
  .join('\n')}

INSERT INTO unioned_out
SELECT id, 'low' FROM src WHERE amount < 10
UNION ALL
SELECT id, 'high' FROM other WHERE amount > 90;

INSERT INTO ijoin_out
SELECT a.id, b.id, b.amount FROM src a, other b
WHERE a.name = b.name AND b.ts BETWEEN a.ts + INTERVAL '0' SECOND AND a.ts + INTERVAL '300' MILLISECOND AND a.id <> b.id;

INSERT INTO wjoin_out
SELECT L.name, L.window_start, L.n, R.s FROM
  (SELECT name, window_start, window_end, COUNT(*) AS n FROM TABLE(TUMBLE(TABLE src, DESCRIPTOR(ts), INTERVAL '2' SECOND)) GROUP BY name, window_start, window_end) L
JOIN
  (SELECT name, window_start, window_end, SUM(amount) AS s FROM TABLE(TUMBLE(TABLE other, DESCRIPTOR(ts), INTERVAL '2' SECOND)) WHERE amount > 30 GROUP BY name, window_start, window_end) R
ON L.name = R.name AND L.window_start = R.window_start AND L.window_end = R.window_end;
`;

// ---- references, from the documented semantics

type Win = { start: number; end: number };
const tumble = (ts: number, size: number): Win[] => [{ start: Math.floor(ts / size) * size, end: Math.floor(ts / size) * size + size }];
const hop = (ts: number, slide: number, size: number): Win[] => {
  const out: Win[] = [];
  for (let s = Math.floor(ts / slide) * slide; s > ts - size; s -= slide) out.push({ start: s, end: s + size });
  return out;
};
const cumulate = (ts: number, step: number, max: number): Win[] => {
  const start = Math.floor(ts / max) * max;
  const out: Win[] = [];
  for (let end = start + step; end <= start + max; end += step) if (end > ts) out.push({ start, end });
  return out;
};
function sessions(rows: In[], gap: number): Array<{ name: string; w: Win; rows: In[] }> {
  const out: Array<{ name: string; w: Win; rows: In[] }> = [];
  for (const name of NAMES) {
    const mine = rows.filter((r) => r.name === name).sort((a, b) => a.ts - b.ts);
    let cur: { name: string; w: Win; rows: In[] } | undefined;
    for (const r of mine) {
      // Flink merges session windows that overlap or touch (TimeWindow.intersects: start <= other.end).
      if (cur && r.ts <= cur.w.end) {
        cur.rows.push(r);
        cur.w.end = Math.max(cur.w.end, r.ts + gap);
      } else out.push((cur = { name, w: { start: r.ts, end: r.ts + gap }, rows: [r] }));
    }
  }
  return out;
}
function aggRow(name: string, w: Win, rs: In[]): Record<string, unknown> {
  const amounts = rs.map((r) => r.amount);
  const sum = amounts.reduce((a, b) => a + b, 0);
  return {
    name,
    ws: w.start,
    we: w.end,
    n: rs.length,
    s: sum,
    av: Math.trunc(sum / rs.length),
    mn: Math.min(...amounts),
    mx: Math.max(...amounts),
    dn: new Set(amounts.map((a) => Math.trunc(a / 10))).size,
    big: rs.filter((r) => r.amount > 50).length,
  };
}
function byWindow(rows: In[], assign: (ts: number) => Win[]): Array<Record<string, unknown>> {
  const groups = new Map<string, { name: string; w: Win; rows: In[] }>();
  for (const r of rows)
    for (const w of assign(r.ts)) {
      const k = `${r.name}|${w.start}|${w.end}`;
      let g = groups.get(k);
      if (!g) groups.set(k, (g = { name: r.name, w, rows: [] }));
      g.rows.push(r);
    }
  return [...groups.values()].map((g) => aggRow(g.name, g.w, g.rows));
}

function references(rows: In[]): Record<string, Array<Record<string, unknown>>> {
  const tumbleRows = byWindow(rows, (ts) => tumble(ts, 2000));
  const sums = byWindow(
    rows.filter((r) => r.amount > 30),
    (ts) => tumble(ts, 2000),
  );
  return {
    proj: rows
      .filter((r) => r.amount % 3 !== 0 && ['ann', 'bob', 'cy'].includes(r.name) && !r.name.startsWith('c'))
      .map((r) => ({ id: r.id, who: r.name.toUpperCase(), twice: r.amount * 2, band: r.amount >= 50 ? 'high' : 'low' })),
    tumble: tumbleRows,
    hop: byWindow(rows, (ts) => hop(ts, 1000, 3000)),
    cumulate: byWindow(rows, (ts) => cumulate(ts, 1000, 4000)),
    session: sessions(rows, 700).map((g) => aggRow(g.name, g.w, g.rows)),
    unioned: [
      ...rows.filter((r) => r.amount < 10).map((r) => ({ id: r.id, tag: 'low' })),
      ...rows.filter((r) => r.amount > 90).map((r) => ({ id: r.id, tag: 'high' })),
    ],
    ijoin: rows.flatMap((a) =>
      rows
        .filter((b) => a.name === b.name && b.ts >= a.ts && b.ts <= a.ts + 300 && a.id !== b.id)
        .map((b) => ({ a: a.id, b: b.id, gap: b.amount })),
    ),
    wjoin: tumbleRows.flatMap((l) =>
      sums.filter((r) => r.name === l.name && r.ws === l.ws).map((r) => ({ name: l.name, ws: l.ws, n: l.n, s: r.s })),
    ),
  };
}

describe('SQL queries against references', () => {
  let dir: string;
  let rows: In[];
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'eddy-sql-'));
    rows = input();
    writeJsonLines(join(dir, 'in.jsonl'), rows);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  // Parallelism 3 (records cross threads, windows and joins split by key) in `npm test`;
  // EDDY_SOAK=1 adds 1.
  for (const parallelism of process.env.EDDY_SOAK === '1' ? [1, 3] : [3]) {
    it(
      `projection, filter, CASE, window TVFs with every aggregate, UNION ALL, interval and window join at parallelism ${parallelism}`,
      { timeout: 120_000 },
      async () => {
        const out = join(dir, `p${parallelism}`);
        writeFileSync(join(dir, `q${parallelism}.sql`), SCRIPT(out).replaceAll(`${out}/in.jsonl`, join(dir, 'in.jsonl')));
        const result = await runJob(SQL_JOB, { parallelism, args: { 'sql.file': join(dir, `q${parallelism}.sql`) } });
        assert.ok(
          result.operators.some((o) => o.uid === 'sql-tumble_out-window-1'),
          'uids derive from the statement',
        );
        const want = references(rows);
        for (const [table, expected] of Object.entries(want)) {
          assert.ok(expected.length > 0, `reference for ${table} is not empty`);
          assert.deepEqual(canonRows(readJsonLinesDir(join(out, table))), canonRows(expected), `${table} at parallelism ${parallelism}`);
        }
      },
    );
  }
});
