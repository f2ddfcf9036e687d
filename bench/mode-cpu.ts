/**
 * Where a job's CPU goes, one consistency mode against another (the runs: mode-cpu-run.ts).
 * Each run's per-thread counters (CPU, voluntary and involuntary context switches, from /proc)
 * are summed by what the thread does: each task vertex's record loops (its subtasks together),
 * snapshot packers, state-file writers, the main thread, and the rest (V8's GC and compiler
 * threads, libuv's pool). Runs come in paired rounds, so a mode is judged by the median of its
 * per-round ratios to the first mode, never by one run: on a busy machine identical runs spread
 * by ±10 %. A mode given twice is that spread measured (an A/A pair).
 */
import type { ThreadRole } from '../core/thread-roles.js';
import { spread, type Spread } from './stats.js';
import type { ThreadCounters } from './thread-cpu.js';

/** The group of threads that are not the main thread, a task, a packer or a writer. */
export const RUNTIME_GROUP = 'V8 + libuv';

/** One measured run. */
export interface ModeRun {
  /** The mode as given, with a ' (2)' suffix on its second appearance (an A/A pair). */
  label: string;
  round: number;
  wallMs: number;
  /** process.cpuUsage over the run: every thread of the process. */
  cpuMs: number;
  events: number;
  checkpoints: number;
  /** Counters summed by group (see groupCounters), in the order groups were first seen. */
  groups: Record<string, ThreadCounters>;
}

/** The group a thread's counters go to. */
function groupOf(tid: number, role: ThreadRole | undefined, mainTid: number): string {
  if (tid === mainTid) return 'main';
  if (role === undefined) return RUNTIME_GROUP;
  // A task's name is 'vertex#subtask': its subtasks share one group.
  if (role.role === 'task') return `task ${role.name.replace(/#\d+$/, '')}`;
  return role.role === 'packer' ? 'packers' : 'writers';
}

/** Sums each thread's counters into its group; threads that did nothing are left out. */
export function groupCounters(
  counters: Map<number, ThreadCounters>,
  roles: Map<number, ThreadRole>,
  mainTid: number,
): Record<string, ThreadCounters> {
  const out: Record<string, ThreadCounters> = {};
  for (const [tid, c] of counters) {
    if (c.cpuMs === 0 && c.voluntary === 0 && c.involuntary === 0) continue;
    const g = groupOf(tid, roles.get(tid), mainTid);
    const sum = (out[g] ??= { cpuMs: 0, voluntary: 0, involuntary: 0 });
    sum.cpuMs += c.cpuMs;
    sum.voluntary += c.voluntary;
    sum.involuntary += c.involuntary;
  }
  return out;
}

/** Labels for the modes in order: a repeated mode gets ' (2)', ' (3)', … so its runs stay apart. */
export function modeLabels(modes: readonly string[]): string[] {
  const seen = new Map<string, number>();
  return modes.map((m) => {
    const n = (seen.get(m) ?? 0) + 1;
    seen.set(m, n);
    return n === 1 ? m : `${m} (${n})`;
  });
}

/** Per round, `of`'s figure over `base`'s (rounds where either is missing are skipped). */
export function pairedRatios(runs: readonly ModeRun[], base: string, of: string, figure: (r: ModeRun) => number): number[] {
  const out: number[] = [];
  const rounds = new Set(runs.map((r) => r.round));
  for (const round of rounds) {
    const b = runs.find((r) => r.round === round && r.label === base);
    const o = runs.find((r) => r.round === round && r.label === of);
    if (b !== undefined && o !== undefined) out.push(figure(o) / figure(b));
  }
  return out;
}

/** The least CPU a group takes in every run of the first mode for its ratio to be shown (10 ticks). */
const MIN_GROUP_CPU_MS = 100;

const ms = (x: number) => x.toFixed(0).padStart(6);

/** One line per run: its totals, then every group's CPU ms / voluntary / involuntary switches. */
export function formatRun(r: ModeRun): string {
  const groups = Object.entries(r.groups)
    .map(([g, c]) => `${g} ${c.cpuMs}/${c.voluntary}/${c.involuntary}`)
    .join('  ');
  return (
    `round ${r.round + 1} ${r.label.padEnd(18)} wall ${ms(r.wallMs)} ms  cpu ${ms(r.cpuMs)} ms  ${(r.cpuMs / r.wallMs).toFixed(2)} cores  ` +
    `${Math.round((r.events * 1000) / r.cpuMs).toLocaleString('en-US')} ev/CPU-s  ${r.checkpoints} chk | ${groups}`
  );
}

const pct = (s: Spread) => `${(s.median * 100).toFixed(1)} % (${(s.min * 100).toFixed(1)}–${(s.max * 100).toFixed(1)})`;

/**
 * The summary: per mode, every group's median CPU ms and voluntary switches per million events;
 * then each mode's process CPU and each group's CPU against the first mode's, as medians of
 * per-round ratios with their extremes.
 */
export function formatSummary(runs: readonly ModeRun[], labels: readonly string[]): string {
  const lines: string[] = [];
  const groups = [...new Set(runs.flatMap((r) => Object.keys(r.groups)))];
  const perM = (r: ModeRun, x: number) => (x * 1e6) / r.events;
  lines.push('medians per million events: CPU ms / voluntary switches (sleeps) by group');
  for (const label of labels) {
    const mine = runs.filter((r) => r.label === label);
    const total = spread(mine.map((r) => perM(r, r.cpuMs))).median;
    const cells = groups.map((g) => {
      const cpu = spread(mine.map((r) => perM(r, r.groups[g]?.cpuMs ?? 0))).median;
      const vol = spread(mine.map((r) => perM(r, r.groups[g]?.voluntary ?? 0))).median;
      return `${g} ${cpu.toFixed(0)}/${vol.toFixed(0)}`;
    });
    lines.push(`  ${label.padEnd(18)} process ${total.toFixed(0)} ms | ${cells.join('  ')}`);
  }
  const base = labels[0];
  for (const label of labels.slice(1)) {
    lines.push(`${label} against ${base} (median of per-round ratios, extremes in brackets):`);
    lines.push(`  process CPU ${pct(spread(pairedRatios(runs, base, label, (r) => r.cpuMs)))}`);
    for (const g of groups) {
      // /proc counts CPU in 10 ms ticks: a group with a few ticks per run has no meaningful ratio.
      const enough = runs.filter((r) => r.label === base).every((r) => (r.groups[g]?.cpuMs ?? 0) >= MIN_GROUP_CPU_MS);
      if (enough) lines.push(`  ${g} CPU ${pct(spread(pairedRatios(runs, base, label, (r) => r.groups[g]?.cpuMs ?? 0)))}`);
    }
  }
  return lines.join('\n');
}
