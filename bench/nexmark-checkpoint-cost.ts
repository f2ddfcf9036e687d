/**
 * What checkpoints cost one Nexmark query, its DataStream job beside its SQL, with full and with
 * incremental checkpoints (issue 17: q9's SQL is within 1.2× of its DataStream job without
 * checkpoints and not with them). The suite (nexmark.ts) runs full checkpoints only; the Flink
 * reference runs incremental RocksDB ones (research/nexmark.md), and this shows both.
 *
 *   node dist/bench/nexmark-checkpoint-cost.js [--query q9] [--events 620000] [--parallelism 2]
 *        [--rounds 3] [--mode at-least-once|exactly-once] [--interval 1000]
 *
 * Each round runs, on fresh threads warmed by a probe, every job × {none, full, incremental};
 * the DataStream job goes first in odd rounds and the SQL in even ones, so neither always runs
 * on the other's leftovers. Per run: events per CPU-second (process.cpuUsage, every thread of
 * the process), and the checkpoints' count and bytes (coordinator stats). The summary gives
 * medians, SQL ÷ DataStream per variant, and each checkpointed variant's CPU above `none` per
 * checkpoint.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runJob, type ConsistencyMode } from '../core/index.js';
import { stopIdlePools } from '../core/runtime/pool.js';
import { REFERENCE_SQL_CONF } from './nexmark.js';
import { failWith, nexmarkJob, parseFlags, positiveInt, type Fail } from './flags.js';

const PROBE_EVENTS = 50_000;
const VARIANTS = ['none', 'full', 'incremental'] as const;
type Variant = (typeof VARIANTS)[number];
type Api = 'ds' | 'sql';

interface Run {
  api: Api;
  variant: Variant;
  cpuMs: number;
  wallMs: number;
  eventsPerCpuSec: number;
  checkpoints: number;
  /** State bytes of all checkpoints but the final one (the job's end), summed. */
  bytes: number;
}

const fail = failWith(
  'nexmark-checkpoint-cost',
  'usage: nexmark-checkpoint-cost [--query qN] [--events N] [--parallelism N] [--rounds N] [--mode at-least-once|exactly-once] [--interval MS]',
);
const { values: o } = parseFlags(
  {
    options: {
      query: { type: 'string', default: 'q9' },
      events: { type: 'string', default: '620000' },
      parallelism: { type: 'string', default: '2' },
      rounds: { type: 'string', default: '3' },
      mode: { type: 'string', default: 'at-least-once' },
      interval: { type: 'string', default: '1000' },
    },
  },
  fail,
);
const dsJob = nexmarkJob(o.query!, fail);
const events = positiveInt('events', o.events, fail)!;
const parallelism = positiveInt('parallelism', o.parallelism, fail)!;
const rounds = positiveInt('rounds', o.rounds, fail)!;
const intervalMs = positiveInt('interval', o.interval, fail)!;
const mode = o.mode as ConsistencyMode;
if (mode !== 'at-least-once' && mode !== 'exactly-once') fail(`--mode takes at-least-once or exactly-once, got ${JSON.stringify(mode)}`);

const PATHS: Record<Api, string> = {
  ds: dsJob,
  sql: fileURLToPath(new URL('../examples/nexmark-sql/run.js', import.meta.url)),
};
const argsOf = (api: Api, n: number): Record<string, string> => ({
  events: String(n),
  rate: '10000000',
  ...(api === 'sql' ? { query: o.query!, sink: 'blackhole', 'sql.conf': REFERENCE_SQL_CONF } : {}),
});

async function measure(api: Api, variant: Variant): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), 'eddy-chkcost-'));
  try {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const res = await runJob(PATHS[api], {
      parallelism,
      mode: variant === 'none' ? 'none' : mode,
      checkpointIntervalMs: variant === 'none' ? undefined : intervalMs,
      incremental: variant === 'incremental',
      checkpointDir: dir,
      args: argsOf(api, events),
    });
    const wallMs = performance.now() - t0;
    const c = process.cpuUsage(cpu0);
    const cpuMs = (c.user + c.system) / 1000;
    const periodic = (res.checkpoints ?? []).filter((s) => !s.final);
    return {
      api,
      variant,
      cpuMs,
      wallMs,
      eventsPerCpuSec: (events * 1000) / cpuMs,
      checkpoints: periodic.length,
      bytes: periodic.reduce((n, s) => n + s.bytes, 0),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const runs: Run[] = [];
for (let r = 0; r < rounds; r++) {
  const order: Api[] = r % 2 === 0 ? ['ds', 'sql'] : ['sql', 'ds'];
  for (const api of order) {
    // Fresh threads per job (as the suite): the probe starts and warms them, checkpoints included.
    await stopIdlePools();
    await runJob(PATHS[api], { parallelism, args: argsOf(api, PROBE_EVENTS) });
    await runJob(PATHS[api], { parallelism, mode, checkpointIntervalMs: 200, args: argsOf(api, PROBE_EVENTS) });
    for (const variant of VARIANTS) {
      const run = await measure(api, variant);
      runs.push(run);
      console.log(
        `round ${r + 1} ${o.query} ${api.padEnd(3)} ${variant.padEnd(11)} ${Math.round(run.eventsPerCpuSec).toString().padStart(8)} events/CPU-s` +
          `  cpu ${Math.round(run.cpuMs)} ms  wall ${Math.round(run.wallMs)} ms  ${run.checkpoints} checkpoints  ${(run.bytes / 1e6).toFixed(1)} MB`,
      );
    }
  }
}

console.log(`\n${o.query}, ${events} events, parallelism ${parallelism}, ${mode} every ${intervalMs} ms, ${rounds} rounds (medians)`);
const med = (api: Api, v: Variant, f: (r: Run) => number) => median(runs.filter((r) => r.api === api && r.variant === v).map(f));
for (const v of VARIANTS) {
  const ds = med('ds', v, (r) => r.eventsPerCpuSec);
  const sql = med('sql', v, (r) => r.eventsPerCpuSec);
  const line = [`${v.padEnd(11)} DS ${Math.round(ds)}  SQL ${Math.round(sql)}  SQL/DS ${(sql / ds).toFixed(2)}`];
  if (v !== 'none') {
    for (const api of ['ds', 'sql'] as const) {
      const n = med(api, v, (r) => r.checkpoints);
      const extra = med(api, v, (r) => r.cpuMs) - med(api, 'none', (r) => r.cpuMs);
      line.push(
        `${api}: ${n} checkpoints, ${(med(api, v, (r) => r.bytes) / 1e6 / Math.max(n, 1)).toFixed(1)} MB and ${Math.round(extra / Math.max(n, 1))} ms CPU above none each`,
      );
    }
  }
  console.log(line.join('   '));
}
await stopIdlePools();
