/**
 * Sinks into real external systems: records/s of the same job (generated records → keyed
 * running sum → sink) per system and mode, exactly-once against at-least-once in one run,
 * rounds alternating so every case sees the same machine. Each system's throwaway server is
 * started once (the test helpers' servers: loopback, random port, temp dir) and stopped at
 * the end. A system whose server binaries are absent is skipped with a line.
 *
 * Systems: PostgreSQL (here), Redis Streams and NATS JetStream (connectors-streams.ts). Adding
 * one: a `SinkSystem` in SYSTEMS and its cases in CASES.
 */
import { fileURLToPath } from 'node:url';
import { runJob } from '../core/index.js';
import { PgServer, postgresSkip } from '../test/helpers/postgres-server.js';
import { jetstreamSystem, redisSystem, STREAM_SINK_CASES } from './connectors-streams.js';
import type { SinkCase, SinkSystem, SystemHandle } from './connectors-types.js';

const PG_JOB = fileURLToPath(new URL('../../examples/postgres-exactly-once.ts', import.meta.url));

const SYSTEMS: Record<string, SinkSystem> = {
  postgres: {
    skip: postgresSkip,
    async start(): Promise<SystemHandle> {
      const server = await PgServer.start({ maxPreparedTransactions: 64 });
      return {
        args: { pg: server.url() },
        async count(table) {
          const n = (await server.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${table}"`))[0].n;
          await server.query(`DROP TABLE "${table}"`);
          return n;
        },
        stop: () => server.stop(),
      };
    },
  },
  redis: redisSystem,
  jetstream: jetstreamSystem,
};

export const CASES: SinkCase[] = [
  { system: 'postgres', mode: 'exactly-once', job: PG_JOB, exact: true, args: (t) => ({ table: t, 'sink-mode': 'exactly-once' }) },
  { system: 'postgres', mode: 'at-least-once', job: PG_JOB, exact: false, args: (t) => ({ table: t, 'sink-mode': 'at-least-once' }) },
  { system: 'postgres', mode: 'upsert', job: PG_JOB, exact: true, args: (t) => ({ table: t, 'sink-mode': 'upsert' }) },
  ...STREAM_SINK_CASES,
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
      const sys = SYSTEMS[c.system];
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
        const target = `bench_${c.system}_${c.mode.replace(/\W/g, '_')}_${n++}`;
        const records = round === 0 ? Math.min(opts.records, 20_000) : opts.records;
        await h.prepare?.(target);
        const res = await runJob(c.job, {
          parallelism: opts.parallelism,
          mode: 'exactly-once',
          checkpointIntervalMs: opts.checkpointIntervalMs,
          args: { ...h.args, ...c.args(target), count: String(records), keys: String(opts.keys) },
        });
        const written = await h.count(target);
        if (c.exact ? written !== records : written < records)
          throw new Error(`${c.system} ${c.mode}: ${written} records in the system for ${records} sent`);
        if (round === 0) continue;
        const rate = records / (res.durationMs / 1000);
        list.push(rate);
        onRun(
          `  round ${round} ${c.system.padEnd(10)} ${c.mode.padEnd(14)} ${Math.round(rate).toLocaleString('en-US').padStart(10)} records/s`,
        );
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
  const lines = [
    `sinks into external systems (generator → keyed running sum → sink; ${r.records.toLocaleString('en-US')} records, parallelism ${r.parallelism}, checkpoint every ${r.checkpointIntervalMs} ms, median of ${r.rounds})`,
  ];
  for (const c of r.cases) {
    const base = r.cases.find((x) => x.system === c.system && x.mode === 'at-least-once');
    const rel = base && base !== c ? ` (${(c.recordsPerSec / base.recordsPerSec).toFixed(2)} of at-least-once)` : '';
    lines.push(
      `  ${c.system.padEnd(10)} ${c.mode.padEnd(14)} ${Math.round(c.recordsPerSec).toLocaleString('en-US').padStart(10)} records/s${rel}`,
    );
  }
  for (const s of r.skipped) lines.push(`  skipped: ${s}`);
  return lines;
}
