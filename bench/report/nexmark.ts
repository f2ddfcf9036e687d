/** The Nexmark section of the report: a row per query and mode beside Flink's published figures, and its chart. */
import { describeSqlConf, type NexmarkResult } from '../nexmark.js';
import { PUBLISHED_PER_CORE, PUBLISHED_SOURCES } from '../nexmark-published.js';
import { barChart } from './svg.js';

const n0 = (n: number) => Math.round(n).toLocaleString('en-US');
const k = (n: number | null) => (n === null ? '—' : `${(n / 1000).toFixed(n < 100_000 ? 1 : 0)} K`);
const table = (header: string[], rows: string[][]) =>
  [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');

/** Markdown lines; `chart(name, svg)` stores an SVG and returns its image link. */
export function nexmarkSection(r: NexmarkResult, chart: (name: string, svg: string) => string): string[] {
  const g = r.generator;
  const rows = r.runs.map((x) => {
    const [f113, f2] = PUBLISHED_PER_CORE[x.query] ?? [null, null];
    const none = r.runs.find((y) => y.query === x.query && y.mode === 'none');
    return [
      x.query, x.mode, n0(x.events), (x.wallMs / 1000).toFixed(2), n0(x.eventsPerSec), n0(x.eventsPerCpuSec), x.cores.toFixed(2),
      x.mode === 'none' || !none ? '' : `${((x.eventsPerCpuSec / none.eventsPerCpuSec) * 100).toFixed(0)}%`,
      String(x.checkpoints), k(f113), k(f2),
    ];
  });
  const eo = r.runs.filter((x) => x.mode === 'exactly-once');
  const svg = barChart({
    title: `Nexmark, events per CPU-second: eddy exactly-once ${r.intervalMs} ms (parallelism ${r.parallelism}) vs Flink per core`,
    unit: 'events per CPU-second (log)',
    log: true,
    categories: eo.map((x) => x.query),
    series: [
      { name: 'eddy exactly-once', values: eo.map((x) => x.eventsPerCpuSec) },
      { name: 'Flink 2.x (GUIDE_V2)', values: eo.map((x) => PUBLISHED_PER_CORE[x.query]?.[1] ?? null) },
      { name: 'Flink 1.13 (README)', values: eo.map((x) => PUBLISHED_PER_CORE[x.query]?.[0] ?? null) },
    ],
  });
  return [
    '## Nexmark',
    '',
    `examples/nexmark/qN.ts at parallelism ${r.parallelism}, event-time density ${n0(r.rate)} events/s, discarding sink; ` +
      `checkpoints every ${r.intervalMs} ms in the checkpointing modes. events/s is over the whole job (deploy and teardown included); ` +
      'events per CPU-second divides by the CPU time of this whole process (every thread: generator, operators, rings, GC), as the nexmark runner ' +
      'divides by the measured cores of its worker processes. vs none: events per CPU-second against checkpointing off.',
    '',
    `Published per-core figures: ${PUBLISHED_SOURCES.flink113}; ${PUBLISHED_SOURCES.flink2}. Those runs are 100 M (1.13) or 50 M (2.x) events on 8 slots with RocksDB; these are far shorter runs on this machine.`,
    '',
    `Generator alone: Sources.nexmark → discard, ${n0(g.job.events)} events: ${n0(g.job.eventsPerSec)} events/s, ${n0(g.job.eventsPerCpuSec)} per CPU-second; ` +
      `the bare event function in one thread: ${n0(g.function.eventsPerSec)} events/s.`,
    '',
    table(['query', 'mode', 'events', 'wall s', 'events/s', 'events per CPU-s', 'cores', 'vs none', 'checkpoints', 'Flink 1.13 per core', 'Flink 2.x per core'], rows),
    '',
    chart('nexmark', svg),
    '',
    ...sqlSection(r),
  ];
}

/** The target for SQL: at most 1.2× the DataStream query's cost, i.e. ≥ 1 / 1.2 of its events per CPU-second. */
export const SQL_MIN_RATIO = 1 / 1.2;

/** Each SQL run against the DataStream run of the same query and mode: events per CPU-second and their ratio. */
export function sqlPairs(r: NexmarkResult): Array<{ query: string; mode: string; events: number; datastream: number; sql: number; ratio: number }> {
  return (r.sqlRuns ?? []).flatMap((s) => {
    const d = r.runs.find((x) => x.query === s.query && x.mode === s.mode);
    return d ? [{ query: s.query, mode: s.mode, events: s.events, datastream: d.eventsPerCpuSec, sql: s.eventsPerCpuSec, ratio: s.eventsPerCpuSec / d.eventsPerCpuSec }] : [];
  });
}

function sqlSection(r: NexmarkResult): string[] {
  const pairs = sqlPairs(r);
  if (pairs.length === 0 && Object.keys(r.sqlSkipped ?? {}).length === 0) return [];
  return [
    '### Nexmark in SQL',
    '',
    'examples/nexmark-sql (nexmark\'s SQL text, only the WITH clauses changed) run right after the DataStream job of the same query, ' +
      `on the same events, parallelism and mode. Target: SQL / DataStream ≥ ${SQL_MIN_RATIO.toFixed(2)} in events per CPU-second (SQL costs at most 1.2×).`,
    '',
    `SQL settings: ${describeSqlConf(r.sqlConf)}.`,
    '',
    table(
      ['query', 'mode', 'events', 'DataStream per CPU-s', 'SQL per CPU-s', 'SQL / DataStream'],
      pairs.map((p) => [p.query, p.mode, n0(p.events), n0(p.datastream), n0(p.sql), `${p.ratio.toFixed(2)}${p.ratio >= SQL_MIN_RATIO ? '' : ' (below target)'}`]),
    ),
    '',
    ...Object.entries(r.sqlSkipped ?? {}).map(([q, why]) => `- ${q}: SQL not run: ${why}`),
    '',
  ];
}
