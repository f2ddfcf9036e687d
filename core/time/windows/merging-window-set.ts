/**
 * A key's session windows (Flink's MergingWindowSet), kept as window namespaces in one value
 * entry: pairwise disjoint, because a window that overlaps or touches another merges with it.
 * Pure functions over that list; the window operator reads and writes it.
 *
 * A window leaves the set when it is merged into a bigger one or retired at its cleanup time
 * (maxTimestamp + allowed lateness): without the retirement a later record would merge into a
 * session long gone and fire it again, and the set would grow for ever.
 */
import { intersects, namespaceOf, windowOf, type TimeWindow } from './window.js';

export interface WindowMerge {
  /** The window the new one ends up in: itself, the session it lies inside, or their union. */
  result: TimeWindow;
  /** Sessions absorbed into `result` (their contents and timers move to it); empty when `result` is new or unchanged. */
  absorbed: TimeWindow[];
  /** True when `result` is a session already in the set, unchanged. */
  existing: boolean;
}

/** Decodes the stored list (undefined: no sessions). */
export function sessionsOf(stored: unknown): TimeWindow[] {
  return stored === undefined ? [] : (stored as string[]).map(windowOf);
}

/** The stored form of `sessions` (undefined when there are none, so the entry can be removed). */
export function storedSessions(sessions: readonly TimeWindow[]): string[] | undefined {
  return sessions.length === 0 ? undefined : sessions.map(namespaceOf);
}

/**
 * How adding `w` changes the set. The sessions are disjoint, so only those `w` itself touches
 * merge: nothing else can touch their union without having touched one of them first.
 */
export function mergeWindow(sessions: readonly TimeWindow[], w: TimeWindow): WindowMerge {
  let start = w.start;
  let end = w.end;
  const absorbed: TimeWindow[] = [];
  for (const s of sessions) {
    if (!intersects(s, w)) continue;
    absorbed.push(s);
    if (s.start < start) start = s.start;
    if (s.end > end) end = s.end;
  }
  if (absorbed.length === 1 && absorbed[0].start === start && absorbed[0].end === end)
    return { result: absorbed[0], absorbed: [], existing: true };
  return { result: { start, end }, absorbed, existing: false };
}

/** The set after a merge: the absorbed sessions replaced by the result. */
export function afterMerge(sessions: readonly TimeWindow[], m: WindowMerge): TimeWindow[] {
  if (m.existing) return sessions as TimeWindow[];
  const rest = sessions.filter((s) => !m.absorbed.includes(s));
  rest.push(m.result);
  return rest;
}

/** The set without `w` (its cleanup time has come). */
export function retireWindow(sessions: readonly TimeWindow[], w: TimeWindow): TimeWindow[] {
  return sessions.filter((s) => s.start !== w.start || s.end !== w.end);
}
