/**
 * One run of the state-scale job in a process of its own, so that its peak RSS and CPU time
 * are its own: `node dist/bench/state-scale-run.js '<RunOptions JSON>' RECORDS`. Prints one
 * JSON line (duration, CPU, peak RSS, checkpoints). Every worker thread is in this process,
 * so process.cpuUsage() and maxRSS cover the whole job.
 */
import { fileURLToPath } from 'node:url';
import type { RunOptions } from '../core/runtime/options.js';
import { runChecked } from './engine-run.js';
import { listenThreadRoles } from '../core/thread-roles.js';
import { cpuByRole, sampleThreadCpu } from './thread-cpu.js';

const JOB = fileURLToPath(new URL('../../bench/jobs/state-scale.mjs', import.meta.url));

const options = JSON.parse(process.argv[2]) as RunOptions;
const records = Number(process.argv[3]);
const cpu0 = process.cpuUsage();
const roles = listenThreadRoles();
const threads = sampleThreadCpu();
const res = await runChecked(JOB, options, records, 'sum');
const cpu = process.cpuUsage(cpu0);
const threadCpu = cpuByRole(threads(), roles.roles, process.pid);
roles.stop();
console.log(
  JSON.stringify({
    durationMs: res.durationMs,
    cpuMs: (cpu.user + cpu.system) / 1000,
    /** CPU ms by what the threads do (keyed task loops, other tasks, packers, main, the rest). */
    threadCpu: Object.fromEntries(Object.entries(threadCpu).map(([k, v]) => [k, Math.round(v)])),
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    checkpoints: res.checkpoints.map((c) => ({
      durationMs: c.durationMs,
      syncMs: c.syncMs,
      asyncMs: c.asyncMs,
      bytes: c.bytes,
      final: c.final,
      kind: c.kind,
    })),
  }),
);
