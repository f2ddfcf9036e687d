/**
 * Backpressure: keyed count into a slow sink (a busy wait per record), so the source runs far
 * ahead and the rings stay full. For each consistency mode and ring size: throughput, checkpoint
 * duration and alignment time (p50/p99 over the non-final checkpoints of all rounds), and the
 * peak resident set of the process while the job ran — bounded rings mean bounded memory,
 * whatever the source could produce. Exactly-once runs aligned, unaligned (`--unaligned`:
 * barriers overtake the full rings; the rows also give the start delay and the in-flight bytes
 * stored), aligned with a 10 ms timeout, and aligned with buffer debloating at 50 ms.
 *
 * Beside the start delay, its floor under the same load: a probe (wake-floor.ts) runs through
 * each ring's runs without checkpoints (mode none: the same job, sinks and rings, and no
 * checkpoint for the probe to disturb) and times the chain of wake-ups a checkpoint's start
 * needs, so a start delay can be read as the engine's part and the machine's.
 *
 * Then, without backpressure, what unaligned mode costs: keyed count (no slow sink) exactly-once
 * at 1 s, aligned against unaligned, interleaved rounds, the ratio paired per round.
 */
import { fileURLToPath } from 'node:url';
import type { RunOptions } from '../core/runtime/options.js';
import type { ConsistencyMode } from '../core/contract/consistency.js';
import type { CheckpointStats } from '../core/checkpoint/coordinator.js';
import { keyedCountRate, runChecked } from './engine-run.js';
import { median, percentiles, withPeakRss, type Percentiles } from './stats.js';
import { listenThreadRoles } from '../core/thread-roles.js';
import { cpuBetween, cpuByRole, threadCpuNow, type ThreadCpu } from './thread-cpu.js';
import { checkpointTail, formatCheckpointTail, type CheckpointTail } from './checkpoint-tail.js';
import { startWakeFloor, wakeFloor, type WakeFloor, type WakeFloorSamples } from './wake-floor.js';
import { formatSlowStarts, slowStarts, START_TARGET_MS, type SlowStart } from './slow-starts.js';
import { selectRows } from './select-rows.js';

const JOB = fileURLToPath(new URL('../../bench/jobs/slow-sink.mjs', import.meta.url));

export interface BackpressureOptions {
  records: number;
  keys: number;
  /** Busy wait of the sink per record, µs. */
  spinUs: number;
  ringCapacities: number[];
  intervalMs: number;
  /** 2 by default: each count task then has two inputs, so exactly-once really aligns. */
  parallelism: number;
  /** Runs of every configuration (interleaved); checkpoints are pooled, throughput is the median. */
  rounds: number;
  /** Records of each keyed-count run without backpressure (aligned against unaligned); 0 skips it. */
  freeRecords: number;
  /** Rounds of that comparison. */
  freeRounds: number;
  /** `--rows`: only the modes whose label holds every word (e.g. `unaligned`), and no comparison without backpressure; all when undefined. */
  select?: string;
}

export interface BackpressureMode {
  mode: ConsistencyMode;
  unaligned: boolean;
  /** Exactly-once starting aligned, switching to unaligned after this many ms. */
  alignedTimeoutMs?: number;
  /** Buffer debloating target (ms). */
  debloatTargetMs?: number;
}

export interface BackpressureRow extends BackpressureMode {
  /** modeLabel of the row (as tables show it). */
  label: string;
  ringCapacity: number;
  /** Median over the rounds. */
  recordsPerSec: number;
  durationMs: number;
  checkpoints: number;
  checkpointDurationMs: Percentiles;
  alignmentMs: Percentiles;
  startDelayMs: Percentiles;
  inFlightBytes: Percentiles;
  /**
   * Where the time went, each phase its slowest task's (so they need not add up): sync part,
   * async part, and inside it the wait for every barrier to be located, the encoding of the
   * in-flight data and the longest single state-file write, and of that the writer thread's own time.
   */
  phases: Record<'syncMs' | 'asyncMs' | 'channelWaitMs' | 'encodeMs' | 'writeMs' | 'writeIoMs', Percentiles>;
  /** The first leg of the start delay: trigger to the slowest source taking it. */
  sourceStartDelayMs: Percentiles;
  /** Every leg of the start delay (see StartLeg), ms after the trigger, over the checkpoints that have it. */
  startLegs: Record<StartLeg, Percentiles>;
  /** How many of the row's checkpoints have each leg (a source waiting or busy at the trigger, GC traced). */
  startLegCount: Record<StartLeg, number>;
  /** The checkpoint with the longest start delay, its legs (what one stall was made of). */
  worstStart: { id: number; startDelayMs: number; legs: Partial<Record<StartLeg, number>> } | null;
  /** Every checkpoint slower to start than the target (the slowest few), with its legs and its source's wait (slow-starts.ts). */
  slowStarts?: SlowStart[];
  /**
   * Each run's first checkpoint against the others of the row: one-time costs a job pays on
   * its first checkpoint (a thread started, code run for the first time) show as a gap here.
   */
  firstCheckpointMs: Percentiles;
  laterCheckpointMs: Percentiles;
  /** The longest checkpoint: its id within its run (1 = the run's first, taken while workers warm up) and duration. */
  slowest: { id: number; durationMs: number } | null;
  peakRssBytes: number;
  /**
   * CPU ms per 1M records by what the threads do (median over rounds; Linux, else null): on
   * two cores every ms a checkpoint costs any thread is taken from the spinning sinks, so the
   * difference between two rows is what one mode's checkpoints cost the other's throughput.
   */
  cpuPerMillion: ThreadCpu | null;
  /** Exactly-once rows: the checkpoints' tail, first barrier to completion, by legs (checkpoint-tail.ts). */
  tail?: CheckpointTail;
}

/** Keyed count without backpressure, exactly-once at 1 s: unaligned against aligned. */
export interface UnalignedCostResult {
  records: number;
  rounds: number;
  intervalMs: number;
  alignedRecordsPerSec: number;
  unalignedRecordsPerSec: number;
  /** Median over rounds of unaligned / aligned within the same round. */
  pairedRatio: number;
}

/** The floor under the start delay at one ring size (see wake-floor.ts), sampled during that ring's runs without checkpoints. */
export interface BackpressureFloor extends WakeFloor {
  ringCapacity: number;
}

export interface BackpressureResult extends BackpressureOptions {
  rows: BackpressureRow[];
  /** Per ring size: what the OS gives woken threads under the same load, beside the start delay. */
  floors: BackpressureFloor[];
  unalignedCost?: UnalignedCostResult;
}

/**
 * The legs of a checkpoint's start delay, in the order they happen: the coordinator's timer
 * late and the trigger posted (main thread), a task still deploying entering its loop, a source that was waiting back from its wait or
 * one that was busy taking it, the barrier out of the slowest source, the slowest task
 * downstream noticing its first barrier; the longest wait of a task for a CPU in that window
 * (Linux); and GC pauses in it, on the main thread and
 * on the slowest task's.
 */
export const START_LEGS = [
  'timerLateMs',
  'postMs',
  'deployingMs',
  'sourceWakeMs',
  'sourceBusyMs',
  'sourceOutMs',
  'noticeMs',
  'runQueueMs',
  'mainGcMs',
  'gcMs',
] as const;
export type StartLeg = (typeof START_LEGS)[number];

/** How each leg is named in tables. */
const START_LEG_NAMES: Record<StartLeg, string> = {
  timerLateMs: 'late',
  postMs: 'posted',
  deployingMs: 'deploying',
  sourceWakeMs: 'woke',
  sourceBusyMs: 'busy',
  sourceOutMs: 'out',
  noticeMs: 'noticed',
  runQueueMs: 'run queue',
  mainGcMs: 'gc main',
  gcMs: 'gc task',
};

/** One checkpoint's legs (those it has: a run without GC tracing has no GC legs). */
function legsOf(k: CheckpointStats): Partial<Record<StartLeg, number>> {
  const all: Partial<Record<StartLeg, number | undefined>> = {
    timerLateMs: k.legs?.timerLateMs,
    postMs: k.legs?.postMs,
    mainGcMs: k.legs?.mainGcMs,
    sourceWakeMs: k.sourceWakeMs,
    sourceBusyMs: k.sourceBusyMs,
    sourceOutMs: k.sourceOutMs,
    noticeMs: k.noticeMs,
    deployingMs: k.deployingMs,
    runQueueMs: k.runQueueMs,
    gcMs: k.gcMs,
  };
  return Object.fromEntries(Object.entries(all).filter(([, v]) => v !== undefined)) as Partial<Record<StartLeg, number>>;
}

export const MODES: BackpressureMode[] = [
  { mode: 'none', unaligned: false },
  { mode: 'at-least-once', unaligned: false },
  { mode: 'exactly-once', unaligned: false },
  { mode: 'exactly-once', unaligned: true },
  { mode: 'exactly-once', unaligned: false, alignedTimeoutMs: 10 },
  { mode: 'exactly-once', unaligned: false, debloatTargetMs: 50 },
];

/** How a mode is named in tables and logs. */
export function modeLabel(m: BackpressureMode): string {
  if (m.alignedTimeoutMs !== undefined) return `${m.mode} timeout ${m.alignedTimeoutMs}`;
  if (m.debloatTargetMs !== undefined) return `${m.mode} debloat ${m.debloatTargetMs}`;
  return m.unaligned ? `${m.mode} unaligned` : m.mode;
}

export function runOptions(m: BackpressureMode, ringCapacity: number, o: BackpressureOptions): RunOptions {
  return {
    parallelism: o.parallelism,
    mode: m.mode,
    unaligned: m.unaligned,
    ...(m.alignedTimeoutMs !== undefined ? { alignedCheckpointTimeoutMs: m.alignedTimeoutMs } : {}),
    ...(m.debloatTargetMs !== undefined ? { bufferDebloatTargetMs: m.debloatTargetMs } : {}),
    ringCapacity,
    ...(m.mode !== 'none' ? { checkpointIntervalMs: o.intervalMs } : {}),
    args: { count: String(o.records), keys: String(o.keys), spinUs: String(o.spinUs) },
  };
}

export async function benchBackpressure(opts: BackpressureOptions, onRow?: (r: BackpressureRow) => void): Promise<BackpressureResult> {
  const rows: BackpressureRow[] = [];
  const floors: BackpressureFloor[] = [];
  const roles = listenThreadRoles();
  // Checkpoint legs' GC pauses and run-queue waits are traced. Workers copy the environment
  // when they start: pool threads started by a suite before this one run untraced (their rows
  // then lack those two legs; run this suite alone, or the whole bench with the variable set).
  const traceBefore = process.env.EDDY_CHECKPOINT_TRACE;
  process.env.EDDY_CHECKPOINT_TRACE ??= '1';
  // Warm-up (JIT of the checkpoint path under backpressure).
  const warm = Math.min(opts.records, 20_000);
  await runChecked(
    JOB,
    {
      parallelism: opts.parallelism,
      mode: 'exactly-once',
      checkpointIntervalMs: opts.intervalMs,
      args: { count: String(warm), keys: String(opts.keys), spinUs: String(opts.spinUs) },
    },
    warm,
  );
  // And the unaligned path, long enough for periodic checkpoints (the run above ends before its
  // first): else the first ring's unaligned row pays its first real captures and writes on every thread.
  const warmUnaligned = Math.min(opts.records, 200_000);
  await runChecked(
    JOB,
    runOptions({ mode: 'exactly-once', unaligned: true }, opts.ringCapacities[0], { ...opts, records: warmUnaligned }),
    warmUnaligned,
  );
  const modes = selectRows(MODES, modeLabel, opts.select, 'backpressure');
  for (const ringCapacity of opts.ringCapacities) {
    const runs = modes.map(() => [] as { res: Awaited<ReturnType<typeof runChecked>>; peak: number; cpu: ThreadCpu }[]);
    const floorSamples: WakeFloorSamples[] = [];
    // Rounds interleaved, each starting at another mode: drift of the machine spreads over all.
    for (let r = 0; r < opts.rounds; r++) {
      for (let k = 0; k < modes.length; k++) {
        const i = (r + k) % modes.length;
        // Pool threads live across runs: their CPU is taken as a difference around the run.
        const before = threadCpuNow();
        const probe = modes[i].mode === 'none' ? startWakeFloor() : undefined;
        const { value: res, peakRssBytes } = await withPeakRss(() =>
          runChecked(JOB, runOptions(modes[i], ringCapacity, opts), opts.records),
        );
        if (probe !== undefined) floorSamples.push(await probe.stop());
        runs[i].push({ res, peak: peakRssBytes, cpu: cpuByRole(cpuBetween(before, threadCpuNow()), roles.roles, process.pid) });
      }
    }
    modes.forEach((m, i) => {
      const steady = runs[i].flatMap((x) => x.res.checkpoints.filter((k) => !k.final));
      const row: BackpressureRow = {
        ...m,
        label: modeLabel(m),
        ringCapacity,
        recordsPerSec: median(runs[i].map((x) => opts.records / (x.res.durationMs / 1000))),
        durationMs: median(runs[i].map((x) => x.res.durationMs)),
        checkpoints: steady.length,
        checkpointDurationMs: percentiles(steady.map((k) => k.durationMs)),
        alignmentMs: percentiles(steady.map((k) => k.alignmentMs)),
        startDelayMs: percentiles(steady.map((k) => k.startDelayMs)),
        inFlightBytes: percentiles(steady.map((k) => k.inFlightBytes)),
        phases: {
          syncMs: percentiles(steady.map((k) => k.syncMs)),
          asyncMs: percentiles(steady.map((k) => k.asyncMs)),
          channelWaitMs: percentiles(steady.flatMap((k) => (k.channelWaitMs === undefined ? [] : [k.channelWaitMs]))),
          encodeMs: percentiles(steady.flatMap((k) => (k.encodeMs === undefined ? [] : [k.encodeMs]))),
          writeMs: percentiles(steady.flatMap((k) => (k.writeMs === undefined ? [] : [k.writeMs]))),
          writeIoMs: percentiles(steady.flatMap((k) => (k.writeIoMs === undefined ? [] : [k.writeIoMs]))),
        },
        sourceStartDelayMs: percentiles(steady.flatMap((k) => (k.sourceStartDelayMs === undefined ? [] : [k.sourceStartDelayMs]))),
        startLegs: Object.fromEntries(START_LEGS.map((leg) => [leg, percentiles(steady.flatMap((k) => legsOf(k)[leg] ?? []))])) as Record<
          StartLeg,
          Percentiles
        >,
        startLegCount: Object.fromEntries(
          START_LEGS.map((leg) => [leg, steady.filter((k) => legsOf(k)[leg] !== undefined).length]),
        ) as Record<StartLeg, number>,
        worstStart: steady.reduce<BackpressureRow['worstStart']>(
          (w, k) => (w === null || k.startDelayMs > w.startDelayMs ? { id: k.id, startDelayMs: k.startDelayMs, legs: legsOf(k) } : w),
          null,
        ),
        slowStarts: slowStarts(steady, legsOf),
        firstCheckpointMs: percentiles(
          runs[i].flatMap((x) =>
            x.res.checkpoints
              .filter((k) => !k.final)
              .slice(0, 1)
              .map((k) => k.durationMs),
          ),
        ),
        laterCheckpointMs: percentiles(
          runs[i].flatMap((x) =>
            x.res.checkpoints
              .filter((k) => !k.final)
              .slice(1)
              .map((k) => k.durationMs),
          ),
        ),
        slowest: steady.reduce<{ id: number; durationMs: number } | null>(
          (w, k) => (w === null || k.durationMs > w.durationMs ? { id: k.id, durationMs: k.durationMs } : w),
          null,
        ),
        peakRssBytes: Math.max(...runs[i].map((x) => x.peak)),
        cpuPerMillion: perMillion(
          runs[i].map((x) => x.cpu),
          opts.records,
        ),
        ...(m.mode === 'exactly-once' ? { tail: checkpointTail(steady) } : {}),
      };
      rows.push(row);
      onRow?.(row);
    });
    floors.push({ ringCapacity, ...wakeFloor(floorSamples) });
  }
  roles.stop();
  if (traceBefore === undefined) delete process.env.EDDY_CHECKPOINT_TRACE;
  // A selection of rows is a look at those rows: the comparison without backpressure is skipped.
  const unalignedCost = opts.freeRecords > 0 && opts.select === undefined ? await benchUnalignedCost(opts) : undefined;
  return { ...opts, rows, floors, ...(unalignedCost ? { unalignedCost } : {}) };
}

/** Each role's median CPU ms over the runs, per 1M records; null where no thread was seen (not Linux). */
function perMillion(cpus: ThreadCpu[], records: number): ThreadCpu | null {
  if (cpus.every((c) => Object.values(c).every((ms) => ms === 0))) return null;
  const keys = Object.keys(cpus[0]) as (keyof ThreadCpu)[];
  return Object.fromEntries(keys.map((k) => [k, (median(cpus.map((c) => c[k])) * 1e6) / records])) as unknown as ThreadCpu;
}

/** Keyed count at full speed (no slow sink), exactly-once at 1 s, aligned and unaligned interleaved. */
async function benchUnalignedCost(o: BackpressureOptions): Promise<UnalignedCostResult> {
  const intervalMs = 1000;
  const base: RunOptions = { parallelism: o.parallelism, mode: 'exactly-once', checkpointIntervalMs: intervalMs };
  await keyedCountRate(Math.min(o.freeRecords, 500_000), o.keys, base);
  const aligned: number[] = [];
  const unaligned: number[] = [];
  for (let r = 0; r < o.freeRounds; r++) {
    const order = r % 2 === 0 ? [false, true] : [true, false];
    for (const u of order)
      (u ? unaligned : aligned).push((await keyedCountRate(o.freeRecords, o.keys, { ...base, unaligned: u })).recordsPerSec);
  }
  return {
    records: o.freeRecords,
    rounds: o.freeRounds,
    intervalMs,
    alignedRecordsPerSec: median(aligned),
    unalignedRecordsPerSec: median(unaligned),
    pairedRatio: median(unaligned.map((u, r) => u / aligned[r])),
  };
}

export function formatBackpressure(r: BackpressureResult): string[] {
  const ms = (n: number | null) => (n === null ? '—' : n < 10 ? n.toFixed(1) : String(Math.round(n)));
  const out = [
    `backpressure: sink busy ${r.spinUs} µs/record, ${r.records.toLocaleString('en-US')} records, checkpoint interval ${r.intervalMs} ms, parallelism ${r.parallelism}, ${r.rounds} round(s) (checkpoints pooled, records/s the median)`,
  ];
  out.push(
    '  mode                      ring      records/s  ckpts  duration p50/p99 ms  alignment p50/p99 ms  start delay p99 ms  in flight p50 KiB  peak RSS MiB',
  );
  for (const x of r.rows) {
    const label = x.label;
    const kib = x.inFlightBytes.p50 === null ? '—' : (x.inFlightBytes.p50 / 1024).toFixed(0);
    out.push(
      `  ${label.padEnd(24)}  ${`${x.ringCapacity / 1024} KiB`.padStart(8)}  ${Math.round(x.recordsPerSec).toLocaleString('en-US').padStart(9)}  ${String(x.checkpoints).padStart(5)}  ${`${ms(x.checkpointDurationMs.p50)} / ${ms(x.checkpointDurationMs.p99)}`.padStart(19)}  ${`${ms(x.alignmentMs.p50)} / ${ms(x.alignmentMs.p99)}`.padStart(20)}  ${ms(x.startDelayMs.p99).padStart(18)}  ${kib.padStart(17)}  ${(x.peakRssBytes / 2 ** 20).toFixed(0).padStart(12)}`,
    );
  }
  out.push(
    "  where the time went (p50 / p99 ms, each phase its slowest task's): sync, async; inside async: barriers located, in-flight encode, longest file write and of it the time on the writer thread (unaligned); slowest checkpoint",
  );
  for (const x of r.rows) {
    if (x.mode !== 'exactly-once' || x.phases === undefined) continue;
    const p = x.phases;
    const pair = (q: Percentiles) => `${ms(q.p50)} / ${ms(q.p99)}`.padStart(13);
    const worst = x.slowest ? `chk ${x.slowest.id} (${ms(x.slowest.durationMs)} ms)` : '—';
    out.push(
      `  ${x.label.padEnd(24)}  ${`${x.ringCapacity / 1024} KiB`.padStart(8)}  sync ${pair(p.syncMs)}  async ${pair(p.asyncMs)}  located ${pair(p.channelWaitMs)}  encode ${pair(p.encodeMs)}  write ${pair(p.writeMs)}  on writer thread ${pair(p.writeIoMs)}  slowest ${worst}`,
    );
  }
  out.push(
    "  start delay and first checkpoints (p50 / p99 ms): start delay, of it trigger to the slowest source; each run's first checkpoint (p50 / max) against the run's later ones",
  );
  for (const x of r.rows) {
    if (x.mode !== 'exactly-once') continue;
    const pair = (a: number | null, b: number | null) => `${ms(a)} / ${ms(b)}`.padStart(13);
    const f = x.firstCheckpointMs;
    out.push(
      `  ${x.label.padEnd(24)}  ${`${x.ringCapacity / 1024} KiB`.padStart(8)}  start delay ${pair(x.startDelayMs.p50, x.startDelayMs.p99)}  source ${pair(x.sourceStartDelayMs.p50, x.sourceStartDelayMs.p99)}  first ${pair(f.p50, f.max)}  later ${pair(x.laterCheckpointMs.p50, x.laterCheckpointMs.p99)}`,
    );
  }
  if (r.floors?.length) {
    out.push(
      "  floor: what the OS gives woken threads on these cores under this load, sampled through each ring's runs without checkpoints (p50 / p99 ms, [samples]): a thread's own timed wait ending at a due time → running (a source taking its armed trigger), another thread woken by its ring → running (a task downstream seeing the barrier), and the chain of both (due → the second running)",
    );
  }
  for (const f of r.floors ?? []) {
    const u = r.rows.find((x) => x.ringCapacity === f.ringCapacity && x.unaligned);
    const pair = (q: Percentiles) => `${ms(q.p50)} / ${ms(q.p99)}`;
    out.push(
      `  ${'floor, same load'.padEnd(24)}  ${`${f.ringCapacity / 1024} KiB`.padStart(8)}  timed wake ${pair(f.timedWakeMs)}  + ring wake ${pair(f.ringWakeMs)}  = chain ${pair(f.chainMs)} [${f.samples}]   unaligned start delay p99 ${ms(u?.startDelayMs.p99 ?? null)} (target ≤ 5)`,
    );
  }
  out.push(
    '  start delay legs (p50 / p99 / max ms after the trigger; [n] checkpoints with the leg): timer late, posted, a task still deploying → in its loop, source waiting → back from its wait, source busy → took it, barrier out of the slowest source, slowest downstream task noticed it; the longest any task waited for a CPU (runnable, not running) from the trigger to its barrier out; GC pause in that window: main thread, slowest task',
  );
  for (const x of r.rows) {
    if (x.mode !== 'exactly-once' || x.startLegs === undefined) continue;
    const cell = (leg: StartLeg) => {
      const q = x.startLegs[leg];
      return q.p50 === null ? '—' : `${ms(q.p50)}/${ms(q.p99)}/${ms(q.max)} [${x.startLegCount[leg]}]`;
    };
    const names = START_LEG_NAMES;
    out.push(
      `  ${x.label.padEnd(24)}  ${`${x.ringCapacity / 1024} KiB`.padStart(8)}  ${START_LEGS.map((leg) => `${names[leg]} ${cell(leg)}`).join('  ')}`,
    );
    const w = x.worstStart;
    if (w)
      out.push(
        `  ${''.padEnd(24)}  ${''.padStart(8)}  longest start delay: chk ${w.id}, ${ms(w.startDelayMs)} ms = ${START_LEGS.filter(
          (l) => w.legs[l] !== undefined,
        )
          .map((l) => `${names[l]} ${ms(w.legs[l]!)}`)
          .join(', ')}`,
      );
  }
  out.push(
    `  start delays over ${START_TARGET_MS} ms, slowest first (legs as above; the slowest source's wait that ended after the trigger, ms after it, as its own thread saw it: run queue = runnable without a CPU, ran = its other work, slept = the rest; host steal in 10 ms ticks and the thread's major page faults where the wait began with the trigger armed)`,
  );
  for (const x of r.rows)
    if (x.mode === 'exactly-once' && x.slowStarts)
      out.push(...formatSlowStarts(x.label, x.ringCapacity, x.slowStarts, START_LEG_NAMES, ms));
  out.push(...formatCheckpointTail(r.rows, ms));
  out.push(
    '  CPU ms per 1M records by thread (median of rounds): count tasks, sources, packer threads, writer threads, main, rest (GC, compiler, libuv pool); per checkpoint: writer threads',
  );
  for (const x of r.rows) {
    const c = x.cpuPerMillion;
    if (x.mode !== 'exactly-once' || !c) continue;
    const perCkpt = x.checkpoints > 0 ? ((c.writers * r.records) / 1e6 / (x.checkpoints / r.rounds)).toFixed(1) : '—';
    const cells = [c.keyedTasks, c.otherTasks, c.packers, c.writers, c.main, c.other]
      .map((v) => String(Math.round(v)).padStart(6))
      .join(' ');
    out.push(`  ${x.label.padEnd(24)}  ${`${x.ringCapacity / 1024} KiB`.padStart(8)}  ${cells}   writers ${perCkpt} ms/checkpoint`);
  }
  for (const ring of r.ringCapacities) {
    const at = (m: (x: BackpressureRow) => boolean) => r.rows.find((x) => x.ringCapacity === ring && m(x));
    const aligned = at(
      (x) => x.mode === 'exactly-once' && !x.unaligned && x.alignedTimeoutMs === undefined && x.debloatTargetMs === undefined,
    );
    const unaligned = at((x) => x.unaligned);
    if (aligned && unaligned)
      out.push(`  ring ${ring / 1024} KiB: unaligned / aligned throughput ${(unaligned.recordsPerSec / aligned.recordsPerSec).toFixed(3)}`);
  }
  const c = r.unalignedCost;
  if (c) {
    out.push(
      `  without backpressure (keyed count, exactly-once ${c.intervalMs} ms, ${c.records.toLocaleString('en-US')} records, ${c.rounds} rounds): aligned ${Math.round(c.alignedRecordsPerSec).toLocaleString('en-US')} records/s, unaligned ${Math.round(c.unalignedRecordsPerSec).toLocaleString('en-US')}, unaligned / aligned ${c.pairedRatio.toFixed(3)} (paired per round)`,
    );
  }
  return out;
}
