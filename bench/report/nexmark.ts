/** The Nexmark section of the report: a row per query and mode beside Flink's published figures, and its chart. */
import { describeSqlConf, type NexmarkResult } from '../nexmark.js';
import { PUBLISHED_PER_CORE, PUBLISHED_SOURCES } from '../nexmark-published.js';
import type { Spread } from '../stats.js';
import { datastreamRounds, sqlPairs, type ModeRounds } from './nexmark-rounds.js';
import { barChart } from './svg.js';

const n0 = (n: number) => Math.round(n).toLocaleString('en-US');
const k = (n: number | null) => (n === null ? '—' : `${(n / 1000).toFixed(n < 100_000 ? 1 : 0)} K`);
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
/** A median with how far its rounds went below and above it, in per cent of it: "1,234,567 (−3%…+2%)". */
const withSpread = (s: Spread) =>
  s.n < 2
    ? n0(s.median)
    : `${n0(s.median)} (−${((1 - s.min / s.median) * 100).toFixed(0)}%…+${((s.max / s.median - 1) * 100).toFixed(0)}%)`;
/** A ratio's median and its rounds' range: "0.95 (0.88–0.97)". */
const ratioSpread = (s: Spread, digits = 2) =>
  s.n < 2 ? s.median.toFixed(digits) : `${s.median.toFixed(digits)} (${s.min.toFixed(digits)}–${s.max.toFixed(digits)})`;
const table = (header: string[], rows: string[][]) =>
  [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');

/** Markdown lines; `chart(name, svg)` stores an SVG and returns its image link. */
export function nexmarkSection(r: NexmarkResult, chart: (name: string, svg: string) => string): string[] {
  const g = r.generator;
  const ds = datastreamRounds(r);
  const rows = ds.map((x) => {
    const [f113, f2] = PUBLISHED_PER_CORE[x.query] ?? [null, null];
    return [
      x.query,
      x.mode,
      n0(x.events.median),
      (x.wallMs.median / 1000).toFixed(2),
      n0(x.eventsPerSec.median),
      withSpread(x.eventsPerCpuSec),
      x.cores.median.toFixed(2),
      x.vsNone
        ? `${pct(x.vsNone.spread.median)}${x.vsNone.spread.n < 2 ? '' : ` (${pct(x.vsNone.spread.min)}–${pct(x.vsNone.spread.max)})`}`
        : '',
      String(x.checkpoints.median),
      roundsCell(x.eventsPerCpuSec, r.rounds),
      k(f113),
      k(f2),
    ];
  });
  const eo = ds.filter((x) => x.mode === 'exactly-once');
  const svg = barChart({
    title: `Nexmark, events per CPU-second: eddy exactly-once ${r.intervalMs} ms (parallelism ${r.parallelism}, median of rounds) vs Flink per core`,
    unit: 'events per CPU-second (log)',
    log: true,
    categories: eo.map((x) => x.query),
    series: [
      { name: 'eddy exactly-once', values: eo.map((x) => x.eventsPerCpuSec.median) },
      { name: 'Flink 2.x (GUIDE_V2)', values: eo.map((x) => PUBLISHED_PER_CORE[x.query]?.[1] ?? null) },
      { name: 'Flink 1.13 (README)', values: eo.map((x) => PUBLISHED_PER_CORE[x.query]?.[0] ?? null) },
    ],
  });
  return [
    '## Nexmark',
    '',
    `examples/nexmark/qN.ts at parallelism ${r.parallelism}, event-time density ${n0(r.rate)} events/s, discarding sink; ` +
      `${r.incremental ? 'incremental' : 'full'} checkpoints every ${r.intervalMs} ms in the checkpointing modes. events/s is over the whole job (deploy and teardown included); ` +
      'events per CPU-second divides by the CPU time of this whole process (every thread: generator, operators, rings, GC), as the nexmark runner ' +
      'divides by the measured cores of its worker processes.',
    '',
    `Each query and mode ran in ${r.rounds} round(s), its DataStream job and its SQL as a pair in each, alternating which went first; every figure below is the median ` +
      "of its rounds, with how far the rounds went below and above it. vs none: per round, events per CPU-second against the same round's run without checkpoints; " +
      'the median of those ratios, and their range. Every round\'s figure is in the table "Every round" below and in the JSON.',
    '',
    `Published per-core figures: ${PUBLISHED_SOURCES.flink113}; ${PUBLISHED_SOURCES.flink2}. Those runs are 100 M (1.13) or 50 M (2.x) events on 8 slots with RocksDB; these are far shorter runs on this machine.`,
    '',
    `Generator alone: Sources.nexmark → discard, ${n0(g.job.events)} events: ${n0(g.job.eventsPerSec)} events/s, ${n0(g.job.eventsPerCpuSec)} per CPU-second; ` +
      `the bare event function in one thread: ${n0(g.function.eventsPerSec)} events/s.`,
    '',
    ...[
      ...startupLine(r, ds),
      ...(r.failures ?? []).map((f) => `- **${f.query} stopped on an error**, its remaining runs not made: ${f.message}`),
    ].flatMap((line) => [line, '']),
    table(
      [
        'query',
        'mode',
        'events',
        'wall s',
        'events/s',
        'events per CPU-s',
        'cores',
        'vs none',
        'checkpoints',
        'rounds',
        'Flink 1.13 per core',
        'Flink 2.x per core',
      ],
      rows,
    ),
    '',
    chart('nexmark', svg),
    '',
    ...sqlSection(r),
    ...everyRound(r, ds),
  ];
}

/** The rounds a row's figures come from, and how many were asked for when fewer. */
const roundsCell = (s: Spread, asked: number) => (s.n < asked ? `**${s.n} of ${asked}**` : String(s.n));

/** How much of a run's CPU is what any run of the query costs (a 1,000-event run): runs must be long enough for it not to matter. */
function startupLine(r: NexmarkResult, ds: ModeRounds[]): string[] {
  const shares = Object.entries(r.startupCpuMs ?? {}).flatMap(([q, byVariant]) => {
    const none = ds.find((x) => x.query === q && x.mode === 'none');
    if (!none) return [];
    const runCpu = none.runs.reduce((sum, x) => sum + x.cpuMs, 0) / none.runs.length;
    return Object.entries(byVariant).map(([variant, ms]) => ({
      what: `${q} ${variant === 'sql' ? 'SQL' : 'DataStream'}`,
      ms,
      share: ms / runCpu,
    }));
  });
  if (shares.length === 0) return [];
  const worst = shares.reduce((w, x) => (x.share > w.share ? x : w));
  return [
    `Fixed cost of a run (a 1,000-event run of each query, checkpointing off): ${n0(Math.min(...shares.map((x) => x.ms)))}–${n0(Math.max(...shares.map((x) => x.ms)))} ms CPU; ` +
      `at most ${pct(worst.share)} of a measured run's CPU (${worst.what}: ${n0(worst.ms)} ms against its DataStream run's mean without checkpoints).`,
  ];
}

/** The issue's target for SQL: at most 1.2× the DataStream query's cost, i.e. ≥ 1 / 1.2 of its events per CPU-second. */
export const SQL_MIN_RATIO = 1 / 1.2;

function sqlSection(r: NexmarkResult): string[] {
  const pairs = sqlPairs(r);
  if (pairs.length === 0 && Object.keys(r.sqlSkipped ?? {}).length === 0) return [];
  return [
    '### Nexmark in SQL',
    '',
    "examples/nexmark-sql (nexmark's SQL text, only the WITH clauses changed) run as a pair with the DataStream job of the same query in each round, " +
      `on the same events, parallelism and mode. Target: SQL / DataStream ≥ ${SQL_MIN_RATIO.toFixed(2)} in events per CPU-second (SQL costs at most 1.2×), ` +
      'judged on the median of the per-round ratios (range in brackets).',
    '',
    `SQL settings: ${describeSqlConf(r.sqlConf)}.`,
    '',
    table(
      ['query', 'mode', 'events', 'DataStream per CPU-s', 'SQL per CPU-s', 'SQL / DataStream', 'rounds'],
      pairs.map((p) => [
        p.query,
        p.mode,
        n0(p.events),
        withSpread(p.datastream),
        withSpread(p.sql),
        `${ratioSpread(p.ratio)}${p.ratio.median >= SQL_MIN_RATIO ? '' : ' (below target)'}`,
        roundsCell(p.ratio, r.rounds),
      ]),
    ),
    '',
    ...Object.entries(r.sqlSkipped ?? {}).map(([q, why]) => `- ${q}: SQL not run: ${why}`),
    '',
  ];
}

/** Every round's figures, in round order: which version went first (D or S), events per CPU-second, and the per-round ratios. */
function everyRound(r: NexmarkResult, ds: ModeRounds[]): string[] {
  const pairs = sqlPairs(r);
  const list = (xs: Array<number | null>, f: (x: number) => string) => xs.map((x) => (x === null ? '—' : f(x))).join(' / ');
  const rows = ds.map((x) => {
    const sql = (r.sqlRuns ?? []).filter((s) => s.query === x.query && s.mode === x.mode);
    const byRound = (runs: typeof sql) => x.runs.map((d) => runs.find((s) => s.round === d.round) ?? null);
    const pair = pairs.find((p) => p.query === x.query && p.mode === x.mode);
    return [
      x.query,
      x.mode,
      x.runs.map((d) => (d.first === undefined ? '—' : d.first ? 'D' : 'S')).join(' / '),
      list(
        x.runs.map((d) => d.eventsPerCpuSec),
        n0,
      ),
      x.vsNone ? list(x.vsNone.ratios, pct) : '',
      sql.length
        ? list(
            byRound(sql).map((s) => s?.eventsPerCpuSec ?? null),
            n0,
          )
        : '',
      pair
        ? list(
            x.runs.map((d) => pair.rounds.find((p) => p.round === d.round)?.ratio ?? null),
            (v) => v.toFixed(3),
          )
        : '',
    ];
  });
  return [
    '### Every round',
    '',
    table(['query', 'mode', 'first', 'DataStream per CPU-s', 'vs none', 'SQL per CPU-s', 'SQL / DataStream'], rows),
    '',
  ];
}
