/**
 * Where the CPU goes in the backpressure job (generator → keyBy → count → slow sink) with no
 * checkpoints, aligned and unaligned checkpoints: per task thread (the two sources, the two
 * count → sink chains), the writer threads, main and the rest, as CPU ms, as cores (CPU per
 * second of the run) and with each thread's voluntary (it blocked) and involuntary (the kernel
 * took its core) context switches. It asks why aligned runs faster than no checkpoints at 256 KiB
 * on 2 cores: the sinks are the bottleneck, so throughput follows the CPU they get, and a source
 * blocked by alignment leaves them a core. Rounds interleave the modes, each round in a new order.
 *
 *   node dist/bench/backpressure-cpu.js [--records 1000000] [--ring 256] [--rounds 1] [--spin 5]
 *
 * Linux only (/proc/self/task). Thread roles are the engine's own announcements (thread-roles.ts).
 */
import { fileURLToPath } from 'node:url';
import { listenThreadRoles, type ThreadRole } from '../core/thread-roles.js';
import { stopIdlePools } from '../core/runtime/pool.js';
import { runChecked } from './engine-run.js';
import { countersBetween, threadCountersNow, type ThreadCounters } from './thread-cpu.js';
import { MODES, modeLabel, runOptions, type BackpressureMode } from './backpressure.js';
import { failWith, parseFlags, positiveInt } from './flags.js';

const JOB = fileURLToPath(new URL('../../bench/jobs/slow-sink.mjs', import.meta.url));
const fail = failWith('backpressure-cpu');
const { values: o } = parseFlags(
  {
    options: {
      records: { type: 'string', default: '1000000' },
      ring: { type: 'string', default: '256' },
      rounds: { type: 'string', default: '1' },
      spin: { type: 'string', default: '5' },
    },
  },
  fail,
);
const records = positiveInt('records', o.records, fail)!;
const ringCapacity = positiveInt('ring', o.ring, fail)! * 1024;
const rounds = positiveInt('rounds', o.rounds, fail)!;
const spinUs = positiveInt('spin', o.spin, fail)!;

const modes: BackpressureMode[] = MODES.filter(
  (m) => m.alignedTimeoutMs === undefined && m.debloatTargetMs === undefined && m.mode !== 'at-least-once',
);
const opts = {
  records,
  keys: 10_000,
  spinUs,
  ringCapacities: [ringCapacity],
  intervalMs: 200,
  parallelism: 2,
  rounds,
  freeRecords: 0,
  freeRounds: 0,
};

/** A thread's group in the table: the task threads one by one (by vertex and subtask), the helpers summed. */
function groupOf(tid: number, role: ThreadRole | undefined): string {
  if (tid === process.pid) return 'main';
  if (role?.role === 'task') return `task ${role.name}${role.keyed ? ' (keyed)' : ''}`;
  if (role?.role === 'writer') return 'writer threads';
  if (role?.role === 'packer') return 'packer threads';
  return 'rest (GC, compiler, libuv)';
}

const roles = listenThreadRoles();
// Warm-up: the JIT and the pool's threads, in every mode.
for (const m of modes)
  await runChecked(JOB, runOptions(m, ringCapacity, { ...opts, records: Math.min(records, 100_000) }), Math.min(records, 100_000));

for (let r = 0; r < rounds; r++) {
  for (let k = 0; k < modes.length; k++) {
    const m = modes[(r + k) % modes.length];
    const before = threadCountersNow();
    const res = await runChecked(JOB, runOptions(m, ringCapacity, opts), records);
    const spent = countersBetween(before, threadCountersNow());
    const seconds = res.durationMs / 1000;
    const groups = new Map<string, ThreadCounters>();
    for (const [tid, c] of spent) {
      const g = groupOf(tid, roles.roles.get(tid));
      const sum = groups.get(g) ?? { cpuMs: 0, voluntary: 0, involuntary: 0 };
      groups.set(g, { cpuMs: sum.cpuMs + c.cpuMs, voluntary: sum.voluntary + c.voluntary, involuntary: sum.involuntary + c.involuntary });
    }
    const total = [...groups.values()].reduce((n, c) => n + c.cpuMs, 0);
    console.log(
      `${modeLabel(m).padEnd(24)} ring ${ringCapacity / 1024} KiB  ${Math.round(records / seconds).toLocaleString('en-US')} records/s  ${seconds.toFixed(2)} s  checkpoints ${res.checkpoints.length}  CPU ${(total / 1000).toFixed(2)} s = ${(total / 1000 / seconds).toFixed(2)} cores`,
    );
    for (const [g, c] of [...groups].sort((a, b) => a[0].localeCompare(b[0])))
      console.log(
        `    ${g.padEnd(34)} ${String(Math.round(c.cpuMs)).padStart(6)} ms  ${(c.cpuMs / 1000 / seconds).toFixed(2)} cores  ${String(Math.round((c.cpuMs * 1e6) / records)).padStart(6)} ms/1M records  blocked ${c.voluntary}  preempted ${c.involuntary}`,
      );
  }
}
roles.stop();
await stopIdlePools();
