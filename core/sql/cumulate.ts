/**
 * Flink SQL's CUMULATE windows as a window assigner for the engine's window operator: windows
 * start every `maxSize` and end after step, 2·step, … maxSize, so a record at t belongs to
 * every window of its period that ends after t. (The sliced operator is for tumbling and
 * sliding windows; these go to the general WindowOperator with the event-time trigger.)
 */
import type { WindowAssigner } from '../api/windows.js';
import type { TimeWindow } from '../time/windows/window.js';
import { windowStart } from '../time/windows/window.js';
import { EventTimeTrigger, ProcessingTimeTrigger, type Trigger } from '../time/windows/triggers.js';

/** Cumulating windows of `stepMs` up to `maxSizeMs` (a multiple of the step), by event time or by the wall clock. */
export function cumulatingWindows(stepMs: number, maxSizeMs: number, isEventTime = true): WindowAssigner {
  return {
    kind: `Cumulating${isEventTime ? 'EventTime' : 'ProcessingTime'}Windows`,
    isEventTime,
    assignWindows(eventTs: number, now: number): readonly TimeWindow[] {
      const ts = isEventTime ? eventTs : now;
      const start = windowStart(ts, 0, maxSizeMs);
      const out: TimeWindow[] = [];
      for (let end = start + stepMs * (Math.floor((ts - start) / stepMs) + 1); end <= start + maxSizeMs; end += stepMs)
        out.push({ start, end });
      return out;
    },
    defaultTrigger(): Trigger<unknown> {
      return isEventTime ? EventTimeTrigger : ProcessingTimeTrigger;
    },
  };
}
