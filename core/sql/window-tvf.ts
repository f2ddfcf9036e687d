/**
 * Window table functions: TUMBLE, HOP, CUMULATE, SESSION over a table with an event-time
 * attribute (WATERMARK FOR) or a processing-time attribute (PROCTIME()), whose windows are then
 * the engine's processing-time windows: aligned to the wall clock, fired by processing-time
 * timers, as Flink's. The relation gets window_start, window_end and window_time; windows are
 * assigned by the engine's own assigners. Aggregated (GROUP BY window_start, window_end) the
 * TVF becomes a window operator (aggregate.ts); selected without aggregation, each row is
 * repeated once per window it belongs to (TUMBLE, HOP, CUMULATE).
 */
import type { WindowAssigner } from '../api/windows.js';
import {
  EventTimeSessionWindows,
  ProcessingTimeSessionWindows,
  SlidingEventTimeWindows,
  SlidingProcessingTimeWindows,
  TumblingEventTimeWindows,
  TumblingProcessingTimeWindows,
} from '../api/windows.js';
import type { DataStream } from '../api/datastream.js';
import type { WindowTvf } from './ast.js';
import { cumulatingWindows } from './cumulate.js';
import { sqlError, sqlUnsupported } from './errors.js';
import type { Row } from './expressions.js';
import type { PlanContext } from './plan-steps.js';
import type { Rel, WindowInfo } from './relation.js';
import { T } from './types.js';
import { extended } from './calc.js';

/** The names of the columns a window TVF adds. */
export const WINDOW_COLUMNS = ['window_start', 'window_end', 'window_time'] as const;

/** Plans a window TVF over `input`: the window columns are added, windows assigned later. */
export function planWindowTvf(tvf: WindowTvf, input: Rel, ctx: PlanContext): Rel {
  void ctx;
  if (input.updating) throw sqlUnsupported(tvf.pos, 'a window TVF over an updating (changelog) input');
  const time = input.fields.find((f) => f.name.toLowerCase() === tvf.timeCol.toLowerCase());
  if (!time)
    throw sqlError(tvf.timePos, `DESCRIPTOR(${tvf.timeCol}): no such column (available: ${input.fields.map((f) => f.name).join(', ')})`);
  if (time.type.name !== 'TIMESTAMP')
    throw sqlError(tvf.timePos, `DESCRIPTOR(${tvf.timeCol}): a window needs a TIMESTAMP time attribute, the column is ${time.type.name}`);
  const proctime = time.type.proctime === true;
  if (!proctime && input.rowtime !== time.key)
    throw sqlError(
      tvf.timePos,
      `DESCRIPTOR(${tvf.timeCol}): '${tvf.timeCol}' is not a time attribute; declare WATERMARK FOR ${tvf.timeCol} AS … in its table, or use a processing-time column (${tvf.timeCol} AS PROCTIME())`,
    );
  if (tvf.partitionBy.length > 0) throw sqlUnsupported(tvf.pos, `${tvf.fn} with PARTITION BY (group by the columns instead)`);
  const ms = tvf.args.map((a, i) => {
    if (a.k !== 'interval' || !(a.ms > 0))
      throw sqlError(a.pos, `argument ${i + 3} of ${tvf.fn} must be a positive INTERVAL, e.g. INTERVAL '10' SECOND`);
    return a.ms;
  });
  const arity = tvf.fn === 'HOP' || tvf.fn === 'CUMULATE' ? 2 : 1;
  if (ms.length !== arity) {
    const form = {
      TUMBLE: 'TUMBLE(TABLE t, DESCRIPTOR(ts), size)',
      HOP: 'HOP(TABLE t, DESCRIPTOR(ts), slide, size)',
      CUMULATE: 'CUMULATE(TABLE t, DESCRIPTOR(ts), step, max size)',
      SESSION: 'SESSION(TABLE t, DESCRIPTOR(ts), gap)',
    }[tvf.fn];
    throw sqlError(tvf.pos, `${tvf.fn} takes ${arity} interval${arity > 1 ? 's' : ''}: ${form}`);
  }
  let window: WindowInfo;
  switch (tvf.fn) {
    case 'TUMBLE':
      window = info(tvf.fn, ms[0]!, ms[0]!, time.key, proctime);
      break;
    case 'HOP':
      window = info(tvf.fn, ms[1]!, ms[0]!, time.key, proctime);
      break;
    case 'CUMULATE':
      if (ms[1]! % ms[0]! !== 0) throw sqlError(tvf.args[1]!.pos, `CUMULATE: the max size must be a multiple of the step`);
      window = info(tvf.fn, ms[1]!, ms[0]!, time.key, proctime);
      break;
    case 'SESSION':
      window = { ...info(tvf.fn, 0, 0, time.key, proctime), gapMs: ms[0]! };
      break;
  }
  const taken = new Set(input.fields.map((f) => f.name.toLowerCase()));
  for (const c of WINDOW_COLUMNS) if (taken.has(c)) throw sqlError(tvf.pos, `the input of ${tvf.fn} already has a column '${c}'`);
  // Flink: window_start and window_end are TIMESTAMP(3); window_time is the time attribute of the windows' kind.
  const fields = [
    ...input.fields,
    { name: 'window_start', key: 'window_start', type: T.TIMESTAMP },
    { name: 'window_end', key: 'window_end', type: T.TIMESTAMP },
    { name: 'window_time', key: 'window_time', type: proctime ? T.PROCTIME : T.TIMESTAMP },
  ];
  // Windows are assigned by the aggregate (or materializeWindows): the input's pending calc stays
  // pending, so the aggregate's column narrowing composes onto it.
  return extended(input, { fields, updating: false, rowtime: input.rowtime, window });
}

function info(fn: WindowInfo['fn'], sizeMs: number, slideMs: number, timeKey: string, proctime: boolean): WindowInfo {
  return {
    fn,
    sizeMs,
    slideMs,
    timeKey,
    deferred: true,
    startKey: 'window_start',
    endKey: 'window_end',
    aggregated: false,
    ...(proctime ? { proctime } : {}),
  };
}

/** The engine's window assigner for a window TVF: by event time, or by the wall clock over a PROCTIME() attribute. */
export function assignerOf(w: WindowInfo): WindowAssigner {
  const p = w.proctime === true;
  switch (w.fn) {
    case 'TUMBLE':
      return (p ? TumblingProcessingTimeWindows : TumblingEventTimeWindows).of(w.sizeMs);
    case 'HOP':
      return (p ? SlidingProcessingTimeWindows : SlidingEventTimeWindows).of(w.sizeMs, w.slideMs);
    case 'CUMULATE':
      return cumulatingWindows(w.slideMs, w.sizeMs, !p);
    case 'SESSION':
      return (p ? ProcessingTimeSessionWindows : EventTimeSessionWindows).withGap(w.gapMs!);
  }
}

/** A window TVF selected without aggregation: each row once per window, with the window columns. */
export function materializeWindows(rel: Rel, ctx: PlanContext, pos: { line: number; col: number }): Rel {
  const w = rel.window;
  if (!w || !w.deferred) return rel;
  if (w.fn === 'SESSION') throw sqlUnsupported(pos, 'SESSION windows without aggregation (GROUP BY window_start, window_end)');
  const assigner = assignerOf(w);
  const timeKey = w.timeKey;
  const proctime = w.proctime === true;
  const input = rel.stream as DataStream<Row>; // built before this operator's uid: EXPLAIN lists in plan order
  const uid = ctx.uids.next('calc', `assign ${w.fn} windows`);
  const stream = input
    .flatMap((row: Row, out) => {
      // Processing time: the row's windows are those of the wall clock now, and its window_time is now (a proctime attribute).
      const now = proctime ? Date.now() : 0;
      for (const win of assigner.assignWindows(proctime ? now : (row[timeKey] as number), now))
        out.collect({ ...row, window_start: win.start, window_end: win.end, window_time: proctime ? now : win.end - 1 });
    })
    .uid(uid)
    .name(`sql:${w.fn.toLowerCase()} windows`);
  return { ...rel, stream, window: { ...w, deferred: false } };
}
