/**
 * The Nexmark suite: every query job of examples/nexmark at checkpointing off, at-least-once
 * and exactly-once (1 s), measured as events/s (wall clock of the job) and events per
 * CPU-second (process.cpuUsage() deltas: every thread of this process, generator, rings, GC
 * and sinks included, as the nexmark runner counts the cores of its worker processes), with
 * the published Flink per-core figures beside them. The generator alone is a row of its own.
 *
 * Beside each query's DataStream job runs its SQL (examples/nexmark-sql/run.ts: nexmark's own
 * SQL text) on the same events, parallelism and mode; `sqlRuns` holds those and the report
 * gives SQL / DataStream in events per CPU-second (the issue's target: SQL costs at most 1.2×,
 * a ratio ≥ 0.83).
 *
 * Every figure is measured in `rounds` rounds (nexmark-schedule.ts): a round runs every mode of
 * the DataStream job and of its SQL, the two runs of a mode back to back (which goes first
 * alternating), and the report judges
 * the median of the per-round ratios (SQL / DataStream, exactly-once / off): one noisy run no
 * longer decides a target. Every round's run is kept.
 *
 * Each query first runs short unmeasured probes of both versions, 50,000 and 200,000 events (they
 * compile and warm the query in every worker); without --events the DataStream job's two size a
 * warm-up run of each version (half a run, unmeasured) from the rate between them, and the
 * DataStream job's warm-up run, on optimised code, sizes the measured runs so that one takes
 * about --seconds: the slow queries would otherwise dominate the suite.
 * A 1,000-event run of each version then measures the CPU a job costs
 * whatever its size (deploy, planning, teardown), which the report sets against a run's CPU.
 */
import { fileURLToPath } from 'node:url';
import { runJob, type ConsistencyMode } from '../core/index.js';
import { stopIdlePools } from '../core/runtime/pool.js';
import { resolveConfig } from '../core/connectors/sources/nexmark/config.js';
import { eventMaker } from '../core/connectors/sources/nexmark/event.js';
import { PUBLISHED_PER_CORE } from './nexmark-published.js';
import { SQL_CANNOT_RUN } from '../examples/nexmark-sql/status.js';
import { runSchedule, type Variant } from './nexmark-schedule.js';

export const NEXMARK_QUERIES = Object.keys(PUBLISHED_PER_CORE);
/** The modes every query runs in, in the report's order. */
export const NEXMARK_MODES: readonly ConsistencyMode[] = ['none', 'at-least-once', 'exactly-once'];
const CHECKPOINT_INTERVAL_MS = 1000;
const PROBE_EVENTS = 50_000;
const MIN_EVENTS = 50_000;
const MAX_EVENTS = 20_000_000;
/** The most the rate between the probes may exceed the large probe's own (see sized). */
const MAX_RATE_OVER_PROBE = 4;
/** Events of the run that measures a job's fixed CPU (too few to add anything per event). */
const STARTUP_EVENTS = 1_000;

/** The compiled query module (dist/examples/nexmark), so no run pays tsx's load time. */
const job = (q: string) => fileURLToPath(new URL(`../examples/nexmark/${q}.js`, import.meta.url));
/** The SQL runner (compiled); the query and the sink go in as --arg. */
const SQL_JOB = fileURLToPath(new URL('../examples/nexmark-sql/run.js', import.meta.url));
/** The reference SQL settings (mini-batch 2 s / 50,000 rows), which the SQL runs use unless told otherwise. */
export const REFERENCE_SQL_CONF = fileURLToPath(new URL('../../examples/nexmark-sql/sql-conf.yaml', import.meta.url));
/** How the bench output and report name the SQL runs' settings. */
export function describeSqlConf(conf: string | undefined): string {
  if (conf === undefined || conf === REFERENCE_SQL_CONF)
    return 'examples/nexmark-sql/sql-conf.yaml, the Nexmark reference: mini-batch on, 2 s / 50,000 rows';
  return conf === 'none' ? "none, Flink's defaults: mini-batch off (every change emitted)" : conf;
}
const GENERATOR_JOB = fileURLToPath(new URL('../../bench/jobs/nexmark-generator.mjs', import.meta.url));

export interface NexmarkRun {
  query: string;
  mode: ConsistencyMode;
  events: number;
  wallMs: number;
  cpuMs: number;
  eventsPerSec: number;
  eventsPerCpuSec: number;
  /** Average busy cores: CPU time / wall time. */
  cores: number;
  checkpoints: number;
  /** The round (0-based); a run's pair is the other version's run of the same query, mode and round. */
  round: number;
  /** Whether it ran before the other run of its pair (absent where the query has no SQL run). */
  first?: boolean;
}

export interface NexmarkResult {
  parallelism: number;
  rate: number;
  intervalMs: number;
  /** Rounds asked for; a query that failed part-way has fewer (`failures` says why). */
  rounds: number;
  /** Incremental checkpoints in the checkpointing modes (otherwise full). */
  incremental: boolean;
  /** Every DataStream run of every round. */
  runs: NexmarkRun[];
  /** The SQL version of each query in `runs` that eddy's SQL runs: same events, parallelism, mode and round. */
  sqlRuns?: NexmarkRun[];
  /** Per query, the CPU ms of a 1,000-event run (checkpointing off): what a run costs whatever its size. */
  startupCpuMs?: Record<string, Partial<Record<Variant, number>>>;
  /** Queries whose runs stopped on an error (a run that failed, restarted or was cancelled); the suite went on. */
  failures?: Array<{ query: string; message: string }>;
  /** The settings file the SQL runs read ('none': Flink's defaults). */
  sqlConf?: string;
  /** Queries whose SQL was left out, and why. */
  sqlSkipped?: Record<string, string>;
  /** Sources.nexmark → discard in one job, and the bare event function in this thread. */
  generator: { job: NexmarkRun; function: { events: number; eventsPerSec: number } };
}

export interface NexmarkOptions {
  queries: string[];
  parallelism: number;
  rate: number;
  /** Fixed event count per run; otherwise sized from a probe to `seconds`. */
  events?: number;
  seconds: number;
  /** Rounds of paired runs per query and mode (default 3). */
  rounds?: number;
  /**
   * Incremental checkpoints, as the nexmark reference runs Flink (its flink-conf.yaml:
   * `state.backend.incremental: true`, RocksDB); false for full ones. The suite's default is true.
   */
  incremental?: boolean;
  /** Also run the SQL versions (default true). */
  sql?: boolean;
  /** The SQL runs' settings file (`--arg sql.conf`); default REFERENCE_SQL_CONF, 'none' for Flink's defaults (mini-batch off). */
  sqlConf?: string;
}

async function measure(
  path: string,
  query: string,
  mode: ConsistencyMode,
  events: number,
  o: NexmarkOptions,
  extraArgs: Record<string, string> = {},
  round = -1,
): Promise<NexmarkRun> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const res = await runJob(path, {
    parallelism: o.parallelism,
    mode,
    checkpointIntervalMs: mode === 'none' ? undefined : CHECKPOINT_INTERVAL_MS,
    incremental: mode === 'none' ? undefined : o.incremental,
    args: { events: String(events), rate: String(o.rate), ...extraArgs },
  });
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  // A figure from a run that restarted (it redid work) or was cancelled (it did not finish) means nothing.
  if (res.restarts !== 0) throw new Error(`the job restarted ${res.restarts} time(s): ${res.failures.map((f) => f.message).join('; ')}`);
  if (res.cancelled) throw new Error('the job was cancelled');
  const cpuMs = (cpu.user + cpu.system) / 1000;
  return {
    query,
    mode,
    events,
    wallMs,
    cpuMs,
    eventsPerSec: events / (wallMs / 1000),
    eventsPerCpuSec: events / (cpuMs / 1000),
    cores: cpuMs / wallMs,
    checkpoints: res.checkpointsCompleted ?? 0,
    round,
  };
}

/**
 * Events for a run of about `seconds`, from the rate between two probes of different sizes:
 * a job's fixed cost (deploying its tasks, planning SQL in each) is in both and cancels out.
 * One probe's own rate counts it as if it were per event, which sized q5's runs to a quarter
 * of a second, mostly start-up.
 */
function sized(small: NexmarkRun, large: NexmarkRun, seconds: number): number {
  // One run (small === large): its own rate, fixed cost included (a slight underestimate).
  const dt = small === large ? 0 : large.wallMs - small.wallMs;
  // At most a few times the large probe's own rate: two probes of nearly the same wall time
  // (one slowed by the machine) would otherwise size a run to minutes.
  const rate =
    dt > 0 ? Math.min(((large.events - small.events) * 1000) / dt, large.eventsPerSec * MAX_RATE_OVER_PROBE) : large.eventsPerSec;
  return Math.min(MAX_EVENTS, Math.max(MIN_EVENTS, Math.round((rate * seconds) / 10_000) * 10_000));
}

export async function benchNexmark(o: NexmarkOptions, onRun: (r: NexmarkRun, variant: Variant) => void): Promise<NexmarkResult> {
  const rounds = o.rounds ?? 3;
  // The first job of the process starts the worker threads; keep that out of every figure.
  await runJob(job('q0'), { parallelism: o.parallelism, args: { events: '20000', rate: String(o.rate) } });

  const make = eventMaker(resolveConfig({ events: 1, rate: o.rate }));
  for (let i = 0; i < 100_000; i++) make(i); // builds the padding pool and url tables, warms the code
  const fnEvents = 1_000_000;
  const t0 = performance.now();
  for (let i = 0; i < fnEvents; i++) make(i);
  const fnRate = fnEvents / ((performance.now() - t0) / 1000);
  const genEvents = o.events ?? Math.min(MAX_EVENTS, Math.max(MIN_EVENTS, Math.round(fnRate * o.parallelism * o.seconds)));
  const genJob = await measure(GENERATOR_JOB, 'generator', 'none', genEvents, o);
  onRun(genJob, 'datastream');

  const runs: NexmarkRun[] = [];
  const sqlRuns: NexmarkRun[] = [];
  const sqlSkipped: Record<string, string> = {};
  const startupCpuMs: Record<string, Partial<Record<Variant, number>>> = {};
  const failures: Array<{ query: string; message: string }> = [];
  const sqlConf = o.sqlConf ?? REFERENCE_SQL_CONF;
  const sqlArgs = (q: string): Record<string, string> => ({
    query: q,
    sink: 'blackhole',
    ...(sqlConf === 'none' ? {} : { 'sql.conf': sqlConf }),
  });
  for (const q of o.queries) {
    // Every query starts on fresh threads: a kept thread carries the heap and optimised code of
    // the queries before it, which cost q14 a fifth of its rate in one suite run (0.69 of its
    // DataStream job there, 0.90 alone). The probes below start and warm the new threads.
    await stopIdlePools();
    const sql = o.sql !== false && SQL_CANNOT_RUN[q] === undefined;
    if (o.sql !== false && !sql) sqlSkipped[q] = SQL_CANNOT_RUN[q];
    const run = async (variant: Variant, mode: ConsistencyMode, events: number, round = -1): Promise<NexmarkRun> => {
      try {
        return await (variant === 'sql'
          ? measure(SQL_JOB, q, mode, events, o, sqlArgs(q), round)
          : measure(job(q), q, mode, events, o, {}, round));
      } catch (err) {
        const which = `${variant === 'sql' ? 'SQL' : 'DataStream'} ${mode}, ${round < 0 ? `unmeasured run of ${events} events` : `round ${round + 1}`}`;
        throw new Error(`${which}: ${(err as Error).message}`);
      }
    };
    try {
      // The probes also warm the query: its module is compiled and its code optimised in every
      // worker. Both versions get the same warm-up, so that neither starts its first pair colder.
      // The first run of each version starts its threads (each imports the engine: about a
      // second on two cores), so the small probe that sizes the runs is taken again once they
      // are warm: taken cold, it outlasted the large probe and sized a q17 run to 15M events.
      await run('datastream', 'none', PROBE_EVENTS);
      if (sql) await run('sql', 'none', PROBE_EVENTS);
      const probe4 = await run('datastream', 'none', PROBE_EVENTS * 4);
      if (sql) await run('sql', 'none', PROBE_EVENTS * 4);
      const probe = await run('datastream', 'none', PROBE_EVENTS);
      // Half a run of each, unmeasured: the probes are too short for the optimising compiler to
      // settle, and the first measured pair ran 3-8% slower than the same pair a round later.
      const warm = Math.max(PROBE_EVENTS, Math.round((o.events ?? sized(probe, probe4, o.seconds)) / 2));
      const warmRun = await run('datastream', 'none', warm);
      if (sql) await run('sql', 'none', warm);
      // The measured runs are sized from the warm run: the probes' code was not yet optimised, so
      // their rate was low (a q8 run sized from them took 0.8 s of 2), and a run shorter than the
      // checkpoint interval took one checkpoint or two by how its wall time fell.
      const events = o.events ?? sized(warmRun, warmRun, o.seconds);
      startupCpuMs[q] = { datastream: (await run('datastream', 'none', STARTUP_EVENTS)).cpuMs };
      if (sql) startupCpuMs[q].sql = (await run('sql', 'none', STARTUP_EVENTS)).cpuMs;
      // The two versions' runs of a mode back to back, order alternating: see nexmark-schedule.ts.
      for (const slot of runSchedule(rounds, NEXMARK_MODES, sql)) {
        const r: NexmarkRun = { ...(await run(slot.variant, slot.mode, events, slot.round)), ...(sql ? { first: slot.first } : {}) };
        (slot.variant === 'sql' ? sqlRuns : runs).push(r);
        onRun(r, slot.variant);
      }
    } catch (err) {
      // One query's failure costs its own figures only: the rounds it finished stay, marked as fewer.
      failures.push({ query: q, message: (err as Error).message });
    }
  }
  return {
    parallelism: o.parallelism,
    rate: o.rate,
    intervalMs: CHECKPOINT_INTERVAL_MS,
    rounds,
    incremental: o.incremental === true,
    runs,
    sqlRuns,
    sqlSkipped,
    sqlConf,
    startupCpuMs,
    failures,
    generator: { job: genJob, function: { events: fnEvents, eventsPerSec: fnRate } },
  };
}
