/**
 * One Nexmark DataStream query in paired rounds of two or more consistency modes, with every
 * run's CPU and context switches per thread group (see mode-cpu.ts):
 *
 *   node dist/bench/mode-cpu-run.js [--query q5] [--events N] [--rounds R]
 *        [--modes none,at-least-once] [--parallelism 2] [--interval MS] [--rate R] [--incremental]
 *
 * The modes alternate which goes first from round to round; before the rounds the query runs
 * twice unmeasured (20,000 events, then half a run) so every thread has compiled and optimised
 * it. A repeated mode (--modes none,none) measures the spread of identical runs. Linux only
 * (per-thread counters come from /proc); prints one line per run and a summary.
 */
import { runJob } from '../core/index.js';
import type { ConsistencyMode } from '../core/contract/consistency.js';
import type { JobResult } from '../core/runtime/options.js';
import { listenThreadRoles } from '../core/thread-roles.js';
import { failWith, nexmarkJob, parseFlags, positiveInt, type Fail } from './flags.js';
import { formatRun, formatSummary, groupCounters, modeLabels, type ModeRun } from './mode-cpu.js';
import { countersBetween, threadCountersNow } from './thread-cpu.js';

const MODES: readonly ConsistencyMode[] = ['none', 'at-least-once', 'exactly-once'];

const fail: Fail = failWith('mode-cpu');

const OPTIONS = {
  query: { type: 'string', default: 'q5' },
  events: { type: 'string', default: '1000000' },
  rounds: { type: 'string', default: '5' },
  modes: { type: 'string', default: 'none,at-least-once' },
  parallelism: { type: 'string', default: '2' },
  interval: { type: 'string', default: '1000' },
  rate: { type: 'string', default: '10000000' },
  incremental: { type: 'boolean', default: false },
} as const;

const { values } = parseFlags({ options: OPTIONS }, fail);
const job = nexmarkJob(values.query!, fail);
const events = positiveInt('events', values.events, fail)!;
const rounds = positiveInt('rounds', values.rounds, fail)!;
const parallelism = positiveInt('parallelism', values.parallelism, fail)!;
const intervalMs = positiveInt('interval', values.interval, fail)!;
const rate = positiveInt('rate', values.rate, fail)!;
const modes = values.modes!.split(',').map((m) => m.trim()) as ConsistencyMode[];
for (const m of modes) if (!MODES.includes(m)) fail(`--modes takes ${MODES.join(', ')} (comma-separated), got '${m}'`);
if (modes.length < 2) fail('--modes needs two modes or more (the first is the one the others are compared with)');
const labels = modeLabels(modes);

/** One run; a job that fails to start or run ends the probe with its one-line message. */
async function run(mode: ConsistencyMode, n: number): Promise<JobResult> {
  try {
    return await runJob(job, {
      parallelism,
      mode,
      checkpointIntervalMs: mode === 'none' ? undefined : intervalMs,
      incremental: mode === 'none' ? undefined : values.incremental,
      args: { events: String(n), rate: String(rate) },
    });
  } catch (err) {
    fail(`${values.query} ${mode}: ${(err as Error).message}`);
  }
}

const roles = listenThreadRoles();
await run('none', 20_000);
await run('none', Math.max(20_000, Math.round(events / 2)));
const runs: ModeRun[] = [];
for (let round = 0; round < rounds; round++) {
  const order = labels.map((_, i) => i);
  if (round % 2 === 1) order.reverse();
  for (const i of order) {
    const before = threadCountersNow();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const res = await run(modes[i], events);
    const wallMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const groups = groupCounters(countersBetween(before, threadCountersNow()), roles.roles, process.pid);
    if (res.restarts !== 0 || res.cancelled)
      fail(`${labels[i]}, round ${round + 1}: the job restarted or was cancelled; its figures would mean nothing`);
    const r: ModeRun = {
      label: labels[i],
      round,
      wallMs,
      cpuMs: (cpu.user + cpu.system) / 1000,
      events,
      checkpoints: res.checkpointsCompleted,
      groups,
    };
    runs.push(r);
    console.log(formatRun(r));
    // What each checkpoint wrote and held: a per-checkpoint cost that grows with the state shows here.
    for (const c of res.checkpoints ?? [])
      console.log(
        `    chk ${c.id}${c.final ? ' final' : ''}: ${(c.bytes / 1e6).toFixed(2)} MB, ${c.files ?? 0} files, sync ${c.syncMs.toFixed(1)} ms, async ${c.asyncMs.toFixed(1)} ms, duration ${c.durationMs.toFixed(1)} ms`,
      );
  }
}
roles.stop();
console.log(formatSummary(runs, labels));
process.exit(0);
