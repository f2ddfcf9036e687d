/**
 * A checkpoint's tail split into legs (issue 13: unaligned duration at small rings): from the
 * slowest task's first barrier to every task's ack and the coordinator's completion, each leg
 * in ms after the trigger on the clock every thread shares (timeOrigin + now), so one
 * checkpoint's legs are read left to right as a timeline. Each task-side leg is the latest
 * over tasks (when the slowest task got there); see CheckpointPhases and CompletionLegs.
 */
import type { CheckpointStats } from '../core/checkpoint/coordinator.js';
import { TASK_TAIL_LEGS, type TaskTailLeg } from '../core/checkpoint/checkpoint-stats.js';
import { percentiles, type Percentiles } from './stats.js';

/**
 * In the order they happen: first barrier noticed (the start delay), every input's barrier
 * located, state captured (keyed snapshot packed, sinks sealed), in-flight data encoded, every
 * file written or handed to the writer thread, the ack posted, the writer thread took the last
 * file and had it fsync'd and renamed; then on the main thread: the last ack taken, the last
 * writer's durable notice taken, both in (the checkpoint's duration), the folder fsync'd,
 * `_metadata` durable, chk-N's entry in the checkpoint directory durable, tasks told it
 * completed, and after that `_latest` durable.
 */
export const TAIL_LEGS = [
  'startDelayMs',
  ...TASK_TAIL_LEGS,
  'lastAckMs',
  'durableTakenMs',
  'ackTakenMs',
  'dirSyncedMs',
  'metadataMs',
  'rootSyncedMs',
  'completedMs',
  'latestMs',
] as const;
export type TailLeg = (typeof TAIL_LEGS)[number];

/** How each leg is named in tables. */
export const TAIL_LEG_NAMES: Record<TailLeg, string> = {
  startDelayMs: 'first barrier',
  locatedAtMs: 'located',
  capturedAtMs: 'captured',
  encodedAtMs: 'encoded',
  writtenAtMs: 'files out',
  ackedAtMs: 'ack posted',
  writerTookAtMs: 'writer took',
  syncedAtMs: 'fsynced',
  lastAckMs: 'ack taken',
  durableTakenMs: 'durable taken',
  ackTakenMs: 'all in',
  dirSyncedMs: 'dir synced',
  metadataMs: '_metadata',
  rootSyncedMs: 'root synced',
  completedMs: 'completed',
  latestMs: '_latest',
};

/** One checkpoint's legs (those it has: an aligned one has no located or encoded leg). */
export function tailLegsOf(k: CheckpointStats): Partial<Record<TailLeg, number>> {
  const c = k.completion;
  const all: Record<TailLeg, number | undefined> = {
    startDelayMs: k.startDelayMs,
    ...(Object.fromEntries(TASK_TAIL_LEGS.map((l) => [l, k[l]])) as Record<TaskTailLeg, number | undefined>),
    lastAckMs: c?.lastAckMs,
    durableTakenMs: c?.durableTakenMs,
    ackTakenMs: c?.ackTakenMs ?? k.durationMs,
    dirSyncedMs: c?.dirSyncedMs,
    metadataMs: c?.metadataMs,
    rootSyncedMs: c?.rootSyncedMs,
    completedMs: c?.completedMs,
    latestMs: c?.latestMs,
  };
  return Object.fromEntries(Object.entries(all).filter(([, v]) => v !== undefined)) as Partial<Record<TailLeg, number>>;
}

export interface CheckpointTail {
  /** p50 / p99 / max of each leg over the checkpoints that have it. */
  legs: Record<TailLeg, Percentiles>;
  /** State files per checkpoint (each one fsync), summed over tasks. */
  files: Percentiles;
  /**
   * Per checkpoint with a writer thread's marks: from its last file fsync'd and renamed to the
   * coordinator having every ack and notice (the hops after the writer, and their run-queue waits).
   */
  afterSync: Percentiles;
  /** The longest checkpoint (by duration) and its legs: what one slow checkpoint was made of. */
  worst: { id: number; durationMs: number; legs: Partial<Record<TailLeg, number>> } | null;
}

export function checkpointTail(checkpoints: CheckpointStats[]): CheckpointTail {
  const legs = checkpoints.map(tailLegsOf);
  let worst: CheckpointStats | undefined;
  for (const k of checkpoints) if (worst === undefined || k.durationMs > worst.durationMs) worst = k;
  return {
    legs: Object.fromEntries(TAIL_LEGS.map((leg) => [leg, percentiles(legs.flatMap((l) => l[leg] ?? []))])) as Record<TailLeg, Percentiles>,
    files: percentiles(checkpoints.flatMap((k) => k.files ?? [])),
    afterSync: percentiles(
      checkpoints.flatMap((k) => (k.syncedAtMs === undefined ? [] : [(k.completion?.ackTakenMs ?? k.durationMs) - k.syncedAtMs])),
    ),
    worst: worst ? { id: worst.id, durationMs: worst.durationMs, legs: tailLegsOf(worst) } : null,
  };
}

/** The tail's lines for a table of rows (each with a label, a ring and its tail). */
export function formatCheckpointTail(
  rows: { label: string; ringCapacity: number; tail?: CheckpointTail }[],
  ms: (n: number | null) => string,
): string[] {
  const out = [
    "  checkpoint tail legs (p50 / p99 / max ms after the trigger, each task-side leg the slowest task's): " +
      TAIL_LEGS.map((l) => TAIL_LEG_NAMES[l]).join(' → ') +
      '; per checkpoint, last file fsynced → all in; files per checkpoint (one fsync each)',
  ];
  for (const x of rows) {
    const t = x.tail;
    if (t === undefined) continue;
    const spread = (q: Percentiles) => (q.p50 === null ? '—' : `${ms(q.p50)}/${ms(q.p99)}/${ms(q.max)}`);
    const cell = (leg: TailLeg) => spread(t.legs[leg]);
    const head = `  ${x.label.padEnd(24)}  ${`${x.ringCapacity / 1024} KiB`.padStart(8)}`;
    out.push(
      `${head}  ${TAIL_LEGS.map((leg) => `${TAIL_LEG_NAMES[leg]} ${cell(leg)}`).join('  ')}  fsynced → all in ${spread(t.afterSync)}  files ${ms(t.files.p50)}`,
    );
    const w = t.worst;
    if (w)
      out.push(
        `  ${''.padEnd(24)}  ${''.padStart(8)}  longest: chk ${w.id}, ${ms(w.durationMs)} ms = ${TAIL_LEGS.filter(
          (l) => w.legs[l] !== undefined,
        )
          .map((l) => `${TAIL_LEG_NAMES[l]} ${ms(w.legs[l]!)}`)
          .join(', ')}`,
      );
  }
  return out;
}
