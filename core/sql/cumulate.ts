/**
 * Flink SQL's CUMULATE windows as a window assigner for the engine's window operator: windows
 * start every `maxSize` and end after step, 2·step, … maxSize, so a record at t belongs to
 * every window of its period that ends after t. (The sliced operator is for tumbling and
 * sliding windows; these go to the general WindowOperator with the event-time trigger.)
 */
import type { WindowAssigner } from '../api/windows.js';
import type { TimeWindow } from '../time/windows/window.js';
import { windowStart } from '../time/windows/window.js';
import { EventTimeTrigger, type Trigger } from '../time/windows/triggers.js';

/** Cumulating event-time windows of `stepMs` up to `maxSizeMs` (a multiple of the step). */
export function cumulatingWindows(stepMs: number, maxSizeMs: number): WindowAssigner {
  return {
    kind: 'CumulatingEventTimeWindows',
    isEventTime: true,
    assignWindows(ts: number): readonly TimeWindow[] {
      const start = windowStart(ts, 0, maxSizeMs);
      const out: TimeWindow[] = [];
      for (let end = start + stepMs * (Math.floor((ts - start) / stepMs) + 1); end <= start + maxSizeMs; end += stepMs) out.push({ start, end });
      return out;
    },
    defaultTrigger(): Trigger<unknown> {
      return EventTimeTrigger;
    },
  };
}
