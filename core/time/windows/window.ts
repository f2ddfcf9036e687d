/**
 * A window: [start, end) in milliseconds. Its last instant is end − 1 (maxTimestamp), when an
 * event-time window fires. The global window spans everything and never fires by time.
 */
export interface TimeWindow {
  readonly start: number;
  readonly end: number;
}

export const GLOBAL_WINDOW: TimeWindow = { start: -Infinity, end: Infinity };

export function maxTimestamp(w: TimeWindow): number {
  return w.end - 1;
}

/** How a window is named in state and timers (the namespace under the key). */
export function namespaceOf(w: TimeWindow): [number, number] {
  return [w.start, w.end];
}

export function windowOf(ns: unknown): TimeWindow {
  const [start, end] = ns as [number, number];
  return { start, end };
}

/** Windows that overlap or touch merge (Flink's TimeWindow.intersects). */
export function intersects(a: TimeWindow, b: TimeWindow): boolean {
  return a.start <= b.end && a.end >= b.start;
}

/** Start of the window of `size` (shifted by `offset`) that holds `ts` (Flink's getWindowStartWithOffset). */
export function windowStart(ts: number, offset: number, size: number): number {
  const r = (ts - offset) % size;
  return r < 0 ? ts - r - size : ts - r;
}
