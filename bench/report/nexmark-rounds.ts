/**
 * The Nexmark runs of several rounds folded into what the report shows and the targets judge.
 * A ratio is always taken within a round (SQL over the DataStream run it was paired with,
 * exactly-once over the same round's run without checkpoints) and the median of those per-round
 * ratios is the judged figure: a ratio of medians would set runs of different rounds against
 * each other, and one slow run in a round would still move it.
 */
import { NEXMARK_MODES, type NexmarkResult, type NexmarkRun } from '../nexmark.js';
import { spread, type Spread } from '../stats.js';

/** One query in one mode over its rounds (runs in round order). */
export interface ModeRounds {
  query: string;
  mode: NexmarkRun['mode'];
  runs: NexmarkRun[];
  events: Spread;
  wallMs: Spread;
  eventsPerSec: Spread;
  eventsPerCpuSec: Spread;
  cores: Spread;
  checkpoints: Spread;
  /** Per round, events per CPU-second over the same round's run without checkpoints; null for that run itself or without one. */
  vsNone: { ratios: Array<number | null>; spread: Spread } | null;
}

/** A query's SQL against its DataStream job in one mode: each round's pair, and their ratio's median and spread. */
export interface SqlPair {
  query: string;
  mode: NexmarkRun['mode'];
  events: number;
  rounds: Array<{ round: number; datastream: number; sql: number; ratio: number; sqlFirst: boolean }>;
  datastream: Spread;
  sql: Spread;
  ratio: Spread;
}

/** Runs grouped by query (in the order they ran) and mode (the report's order), each group in round order. */
function byQueryAndMode(runs: NexmarkRun[]): NexmarkRun[][] {
  const queries = [...new Set(runs.map((x) => x.query))];
  return queries.flatMap((q) =>
    NEXMARK_MODES.map((m) => runs.filter((x) => x.query === q && x.mode === m).sort((a, b) => a.round - b.round)).filter(
      (g) => g.length > 0,
    ),
  );
}

const partner = (runs: NexmarkRun[], x: NexmarkRun, mode = x.mode) =>
  runs.find((y) => y.query === x.query && y.mode === mode && y.round === x.round);

/** The DataStream runs: one row per query and mode. */
export function datastreamRounds(r: NexmarkResult): ModeRounds[] {
  return byQueryAndMode(r.runs).map((g) => {
    const of = (f: (x: NexmarkRun) => number) => spread(g.map(f));
    const first = g[0];
    let vsNone: ModeRounds['vsNone'] = null;
    if (first.mode !== 'none') {
      const ratios = g.map((x) => {
        const none = partner(r.runs, x, 'none');
        return none ? x.eventsPerCpuSec / none.eventsPerCpuSec : null;
      });
      const paired = ratios.filter((x): x is number => x !== null);
      if (paired.length > 0) vsNone = { ratios, spread: spread(paired) };
    }
    return {
      query: first.query,
      mode: first.mode,
      runs: g,
      events: of((x) => x.events),
      wallMs: of((x) => x.wallMs),
      eventsPerSec: of((x) => x.eventsPerSec),
      eventsPerCpuSec: of((x) => x.eventsPerCpuSec),
      cores: of((x) => x.cores),
      checkpoints: of((x) => x.checkpoints),
      vsNone,
    };
  });
}

/** Each query and mode whose SQL ran: the rounds in which both versions ran, paired. */
export function sqlPairs(r: NexmarkResult): SqlPair[] {
  return byQueryAndMode(r.sqlRuns ?? []).flatMap((g) => {
    const rounds = g.flatMap((s) => {
      const d = partner(r.runs, s);
      return d
        ? [
            {
              round: s.round,
              datastream: d.eventsPerCpuSec,
              sql: s.eventsPerCpuSec,
              ratio: s.eventsPerCpuSec / d.eventsPerCpuSec,
              sqlFirst: s.first === true,
            },
          ]
        : [];
    });
    if (rounds.length === 0) return [];
    return [
      {
        query: g[0].query,
        mode: g[0].mode,
        events: g[0].events,
        rounds,
        datastream: spread(rounds.map((x) => x.datastream)),
        sql: spread(rounds.map((x) => x.sql)),
        ratio: spread(rounds.map((x) => x.ratio)),
      },
    ];
  });
}

/** '' when a figure has every round asked for, else ' (2 of 3 rounds)': a figure from fewer rounds says so. */
export function fewerRounds(n: number, asked: number): string {
  return n < asked ? ` (${n} of ${asked} rounds)` : '';
}
