/**
 * The Nexmark suite: every query job of examples/nexmark at checkpointing off, at-least-once
 * and exactly-once (1 s), measured as events/s (wall clock of the job) and events per
 * CPU-second (process.cpuUsage() deltas: every thread of this process, generator, rings, GC
 * and sinks included, as the nexmark runner counts the cores of its worker processes), with
 * the published Flink per-core figures beside them. The generator alone is a row of its own.
 *
 * Beside each query's DataStream job runs its SQL (examples/nexmark-sql/run.ts: nexmark's own
 * SQL text) on the same events, parallelism and mode, right after it, so the two are measured
 * under the same conditions; `sqlRuns` holds those and the report gives SQL / DataStream in
 * events per CPU-second (the target: SQL costs at most 1.2×, a ratio ≥ 0.83).
 *
 * Each query first runs a short unmeasured probe (it compiles and warms the query in every
 * worker); without --events a second, four times longer, sizes the runs from the rate between
 * the two so that one takes about --seconds (default 4): the slow queries would otherwise
 * dominate the suite.
 */
import { fileURLToPath } from 'node:url';
import { runJob, type ConsistencyMode } from '../core/index.js';
import { stopIdlePools } from '../core/runtime/pool.js';
import { resolveConfig } from '../core/connectors/sources/nexmark/config.js';
import { eventMaker } from '../core/connectors/sources/nexmark/event.js';
import { PUBLISHED_PER_CORE } from './nexmark-published.js';
import { SQL_CANNOT_RUN } from '../examples/nexmark-sql/status.js';

export const NEXMARK_QUERIES = Object.keys(PUBLISHED_PER_CORE);
const MODES: ConsistencyMode[] = ['none', 'at-least-once', 'exactly-once'];
const CHECKPOINT_INTERVAL_MS = 1000;
const PROBE_EVENTS = 50_000;
const MIN_EVENTS = 50_000;
const MAX_EVENTS = 20_000_000;

/** The compiled query module (dist/examples/nexmark), so no run pays tsx's load time. */
const job = (q: string) => fileURLToPath(new URL(`../examples/nexmark/${q}.js`, import.meta.url));
/** The SQL runner (compiled); the query and the sink go in as --arg. */
const SQL_JOB = fileURLToPath(new URL('../examples/nexmark-sql/run.js', import.meta.url));
/** The reference SQL settings (mini-batch 2 s / 50,000 rows), which the SQL runs use unless told otherwise. */
export const REFERENCE_SQL_CONF = fileURLToPath(new URL('../../examples/nexmark-sql/sql-conf.yaml', import.meta.url));
/** How the bench output and report name the SQL runs' settings. */
export function describeSqlConf(conf: string | undefined): string {
  if (conf === undefined || conf === REFERENCE_SQL_CONF) return 'examples/nexmark-sql/sql-conf.yaml, the Nexmark reference: mini-batch on, 2 s / 50,000 rows';
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
}

export interface NexmarkResult {
  parallelism: number;
  rate: number;
  intervalMs: number;
  runs: NexmarkRun[];
  /** The SQL version of each query in `runs` that eddy's SQL runs: same events, parallelism and mode. */
  sqlRuns?: NexmarkRun[];
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
  /** Also run the SQL versions (default true). */
  sql?: boolean;
  /** The SQL runs' settings file (`--arg sql.conf`); default REFERENCE_SQL_CONF, 'none' for Flink's defaults (mini-batch off). */
  sqlConf?: string;
}

async function measure(path: string, query: string, mode: ConsistencyMode, events: number, o: NexmarkOptions, extraArgs: Record<string, string> = {}): Promise<NexmarkRun> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const res = await runJob(path, {
    parallelism: o.parallelism,
    mode,
    checkpointIntervalMs: mode === 'none' ? undefined : CHECKPOINT_INTERVAL_MS,
    args: { events: String(events), rate: String(o.rate), ...extraArgs },
  });
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
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
  };
}

/**
 * Events for a run of about `seconds`, from the rate between two probes of different sizes:
 * a job's fixed cost (deploying its tasks, planning SQL in each) is in both and cancels out.
 * One probe's own rate counts it as if it were per event, which sized q5's runs to a quarter
 * of a second, mostly start-up.
 */
function sized(small: NexmarkRun, large: NexmarkRun, seconds: number): number {
  const dt = large.wallMs - small.wallMs;
  const rate = dt > 0 ? ((large.events - small.events) * 1000) / dt : large.eventsPerSec;
  return Math.min(MAX_EVENTS, Math.max(MIN_EVENTS, Math.round((rate * seconds) / 10_000) * 10_000));
}

export async function benchNexmark(o: NexmarkOptions, onRun: (r: NexmarkRun) => void): Promise<NexmarkResult> {
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
  onRun(genJob);

  const runs: NexmarkRun[] = [];
  const sqlRuns: NexmarkRun[] = [];
  const sqlSkipped: Record<string, string> = {};
  const sqlConf = o.sqlConf ?? REFERENCE_SQL_CONF;
  const sqlArgs = (q: string): Record<string, string> => ({ query: q, sink: 'blackhole', ...(sqlConf === 'none' ? {} : { 'sql.conf': sqlConf }) });
  for (const q of o.queries) {
    // Every query starts on fresh threads: a kept thread carries the heap and optimised code of
    // the queries before it, which cost q14 a fifth of its rate in one suite run (0.69 of its
    // DataStream job there, 0.90 alone). The probes below start and warm the new threads.
    await stopIdlePools();
    const sql = o.sql !== false && SQL_CANNOT_RUN[q] === undefined;
    if (o.sql !== false && !sql) sqlSkipped[q] = SQL_CANNOT_RUN[q];
    // The probe also warms the query: its module is compiled and its code optimised in every worker.
    const probe = await measure(job(q), q, 'none', PROBE_EVENTS, o);
    if (sql) await measure(SQL_JOB, `${q}-sql`, 'none', PROBE_EVENTS, o, sqlArgs(q));
    const events = o.events ?? sized(probe, await measure(job(q), q, 'none', PROBE_EVENTS * 4, o), o.seconds);
    for (const mode of MODES) {
      const r = await measure(job(q), q, mode, events, o);
      runs.push(r);
      onRun(r);
      if (!sql) continue;
      const s = await measure(SQL_JOB, q, mode, events, o, sqlArgs(q));
      sqlRuns.push(s);
      onRun({ ...s, query: `${q} SQL` });
    }
  }
  return { parallelism: o.parallelism, rate: o.rate, intervalMs: CHECKPOINT_INTERVAL_MS, runs, sqlRuns, sqlSkipped, sqlConf, generator: { job: genJob, function: { events: fnEvents, eventsPerSec: fnRate } } };
}
