/**
 * A window: [start, end) in milliseconds. Its last instant is end − 1 (maxTimestamp), when an
 * event-time window fires. The global window spans everything and never fires by time.
 */
export interface TimeWindow {
  /** First instant of the window, in ms (inclusive). */
  readonly start: number;
  /** End of the window, in ms (exclusive). */
  readonly end: number;
}

export const GLOBAL_WINDOW: TimeWindow = { start: -Infinity, end: Infinity };

export function maxTimestamp(w: TimeWindow): number {
  return w.end - 1;
}

/**
 * How a window is named in state and timers (the namespace under the key): "start:end". A
 * primitive, because state stores use a primitive map key as it is, while an array key is
 * JSON-encoded on every access (that was a third of a window operator's time).
 */
export function namespaceOf(w: TimeWindow): string {
  const { start, end } = w;
  // A record's windows are mostly the previous records' windows: handing out the same string
  // instance lets maps use the hash V8 cached in it instead of hashing a new string.
  const slot = Number.isFinite(start) ? Math.abs(start % NS_CACHE_SLOTS) | 0 : 0;
  if (nsStart[slot] === start && nsEnd[slot] === end) return nsText[slot];
  const text = `${start}:${end}`;
  nsStart[slot] = start;
  nsEnd[slot] = end;
  nsText[slot] = text;
  return text;
}

/** A direct-mapped cache of namespaces by window start (prime, so starts at a round slide spread out). */
const NS_CACHE_SLOTS = 61;
const nsStart = new Float64Array(NS_CACHE_SLOTS).fill(NaN);
const nsEnd = new Float64Array(NS_CACHE_SLOTS).fill(NaN);
const nsText: string[] = new Array<string>(NS_CACHE_SLOTS).fill('');

export function windowOf(ns: unknown): TimeWindow {
  const text = ns as string;
  const i = text.indexOf(':', 1); // from 1: a negative start begins with '-', never ':'
  return { start: Number(text.slice(0, i)), end: Number(text.slice(i + 1)) };
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
