/**
 * Sinks into real external systems: records/s of the same job (generated records → keyed
 * running sum → sink) per system and mode, exactly-once against at-least-once in one run,
 * rounds alternating so every case sees the same machine. Each system's throwaway server is
 * started once (the test helpers' servers: loopback, random port, temp dir) and stopped at
 * the end. A system whose server binaries are absent is skipped with a line.
 *
 * Adding a system (Redis, NATS, …): add a `SinkSystem` to SYSTEMS and its cases to CASES.
 */
import { fileURLToPath } from 'node:url';
import { runJob } from '../core/index.js';
import { PgServer, postgresSkip } from '../test/helpers/postgres-server.js';

const PG_JOB = fileURLToPath(new URL('../../examples/postgres-exactly-once.ts', import.meta.url));

/** A running server of one system, for the cases that write into it. */
interface SystemHandle {
  /** Job arguments that reach the server (e.g. the connection string). */
  args: Record<string, string>;
  /** How many records the run named `target` left in the system. */
  count(target: string): Promise<number>;
  stop(): Promise<void>;
}

interface SinkSystem {
  /** Why the system cannot run here (binaries absent), or undefined. */
  skip: string | undefined;
  start(): Promise<SystemHandle>;
}

/** One measured configuration: a system, its sink mode, and the job that writes through it. */
export interface SinkCase {
  system: keyof typeof SYSTEMS;
  mode: string;
  job: string;
  /** Extra job arguments for this case; `target` names a fresh table / stream per run. */
  args(target: string): Record<string, string>;
  /** True when the system must end with exactly `records` records (no duplicates allowed). */
  exact: boolean;
}

const SYSTEMS = {
  postgres: {
    skip: postgresSkip,
    async start(): Promise<SystemHandle> {
      const server = await PgServer.start({ maxPreparedTransactions: 64 });
      return {
        args: { pg: server.url() },
        async count(table) {
          return (await server.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${table}"`))[0].n;
        },
        stop: () => server.stop(),
      };
    },
  },
  // redis: { skip: …, start: … },   ← the Redis Streams and NATS sinks go here
} satisfies Record<string, SinkSystem>;

export const CASES: SinkCase[] = [
  { system: 'postgres', mode: 'exactly-once', job: PG_JOB, exact: true, args: (t) => ({ table: t, 'sink-mode': 'exactly-once' }) },
  { system: 'postgres', mode: 'at-least-once', job: PG_JOB, exact: false, args: (t) => ({ table: t, 'sink-mode': 'at-least-once' }) },
  { system: 'postgres', mode: 'upsert', job: PG_JOB, exact: true, args: (t) => ({ table: t, 'sink-mode': 'upsert' }) },
];

export interface ConnectorCaseResult {
  system: string;
  mode: string;
  /** Median over the rounds. */
  recordsPerSec: number;
  runs: number[];
}

export interface ConnectorsResult {
  records: number;
  keys: number;
  parallelism: number;
  checkpointIntervalMs: number;
  rounds: number;
  cases: ConnectorCaseResult[];
  skipped: string[];
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function benchConnectors(
  opts: { records: number; keys: number; rounds: number; parallelism: number; checkpointIntervalMs: number },
  onRun: (line: string) => void = () => {},
): Promise<ConnectorsResult> {
  const handles = new Map<string, SystemHandle>();
  const skipped: string[] = [];
  const runs = new Map<SinkCase, number[]>();
  try {
    for (const c of CASES) {
      const sys: SinkSystem = SYSTEMS[c.system];
      if (sys.skip !== undefined) {
        if (!skipped.includes(sys.skip)) skipped.push(sys.skip);
        continue;
      }
      if (!handles.has(c.system)) handles.set(c.system, await sys.start());
      runs.set(c, []);
    }
    let n = 0;
    // Round 0 is a warm-up (thread start, JIT, table creation paths); its figures are dropped.
    for (let round = 0; round <= opts.rounds; round++) {
      for (const [c, list] of runs) {
        const h = handles.get(c.system)!;
        const target = `bench_${c.mode.replace(/\W/g, '_')}_${n++}`;
        const records = round === 0 ? Math.min(opts.records, 20_000) : opts.records;
        const res = await runJob(c.job, {
          parallelism: opts.parallelism,
          mode: 'exactly-once',
          checkpointIntervalMs: opts.checkpointIntervalMs,
          args: { ...h.args, ...c.args(target), count: String(records), keys: String(opts.keys) },
        });
        const written = await h.count(target);
        if (c.exact ? written !== records : written < records) throw new Error(`${c.system} ${c.mode}: ${written} records in the system for ${records} sent`);
        if (round === 0) continue;
        const rate = records / (res.durationMs / 1000);
        list.push(rate);
        onRun(`  round ${round} ${c.system} ${c.mode.padEnd(14)} ${Math.round(rate).toLocaleString('en-US').padStart(10)} records/s`);
      }
    }
  } finally {
    for (const h of handles.values()) await h.stop();
  }
  return {
    ...opts,
    cases: [...runs].map(([c, list]) => ({ system: c.system, mode: c.mode, recordsPerSec: median(list), runs: list })),
    skipped,
  };
}

export function formatConnectors(r: ConnectorsResult): string[] {
  const lines = [`sinks into external systems (generator → keyed running sum → sink; ${r.records.toLocaleString('en-US')} records, parallelism ${r.parallelism}, checkpoint every ${r.checkpointIntervalMs} ms, median of ${r.rounds})`];
  for (const c of r.cases) {
    const base = r.cases.find((x) => x.system === c.system && x.mode === 'at-least-once');
    const rel = base && base !== c ? ` (${(c.recordsPerSec / base.recordsPerSec).toFixed(2)} of at-least-once)` : '';
    lines.push(`  ${c.system.padEnd(10)} ${c.mode.padEnd(14)} ${Math.round(c.recordsPerSec).toLocaleString('en-US').padStart(10)} records/s${rel}`);
  }
  for (const s of r.skipped) lines.push(`  skipped: ${s}`);
  return lines;
}
