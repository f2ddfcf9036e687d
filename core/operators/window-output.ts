/**
 * What both window operators (window.ts, the general one, and sliced-window.ts, the sliced
 * one for incremental functions) share: the window function's contract and how a window's
 * accumulator or contents become output.
 */
import type { Collector } from '../contract/functions.js';
import type { AggregateFunction } from '../contract/state.js';
import { EddyError } from '../failure.js';
import type { TaskTime } from '../time/task-time.js';
import type { Trigger } from '../time/windows/triggers.js';
import type { WindowAssigner } from '../time/windows/assigners.js';
import type { TimeWindow } from '../time/windows/window.js';
import type { KeyedStateStore } from '../state/keyed-store.js';
import { OperatorContext } from './context.js';
import type { OperatorRuntime } from './operator.js';
import { userFunctionFailure } from './failures.js';

/** What a window function learns about the window it is called for. */
export interface WindowContext {
  /** The window: `[start, end)` in ms; `maxTimestamp` is `end - 1`, the timestamp of its results. */
  readonly window: { readonly start: number; readonly end: number; readonly maxTimestamp: number };
  /** The operator's event-time watermark when the window fires. */
  readonly currentWatermark: number;
  /** The wall clock in ms when the window fires. */
  readonly currentProcessingTime: number;
}

/**
 * Called when a window fires (Flink's `ProcessWindowFunction`): the key, the window, its
 * elements (or the single reduced / aggregated value) and where to emit results.
 */
export type ProcessWindowFunction<IN, OUT, K> = (key: K, ctx: WindowContext, elements: IN[], out: Collector<OUT>) => void;

/** How a window's contents are kept and turned into output. */
export type WindowFunctionSpec =
  | { kind: 'reduce'; reduce: (a: unknown, b: unknown) => unknown; process?: ProcessWindowFunction<unknown, unknown, unknown> }
  | {
      kind: 'aggregate';
      aggregate: AggregateFunction<unknown, unknown, unknown>;
      process?: ProcessWindowFunction<unknown, unknown, unknown>;
    }
  | { kind: 'process'; process: ProcessWindowFunction<unknown, unknown, unknown> };

export interface WindowSpec {
  assigner: WindowAssigner;
  trigger: Trigger<unknown>;
  allowedLateness: number;
  lateTag: string | undefined;
  fn: WindowFunctionSpec;
}

/** Turns a window's accumulator (reduce, aggregate) or contents (process) into output, stamped with the window's last instant. */
export class WindowEmitter {
  private readonly windowCtx: {
    window: { start: number; end: number; maxTimestamp: number };
    currentWatermark: number;
    currentProcessingTime: number;
  };

  constructor(
    private readonly fn: WindowFunctionSpec,
    private readonly time: TaskTime,
    private readonly out: Collector<unknown>,
    private readonly ctx: OperatorContext,
    watermark: () => number,
  ) {
    this.windowCtx = {
      window: { start: 0, end: 0, maxTimestamp: 0 },
      get currentWatermark() {
        return watermark();
      },
      get currentProcessingTime() {
        return Date.now();
      },
    };
  }

  emit(key: unknown, w: TimeWindow, acc: unknown): void {
    const fn = this.fn;
    const time = this.time;
    const ts = time.timestamp;
    // Results carry the window's last instant as their timestamp (as in Flink).
    time.timestamp = w.end - 1;
    try {
      if (fn.kind === 'process' || fn.process) {
        const elements = fn.kind === 'reduce' ? [acc] : fn.kind === 'aggregate' ? [fn.aggregate.getResult(acc)] : (acc as unknown[]);
        const wc = this.windowCtx;
        wc.window = { start: w.start, end: w.end, maxTimestamp: w.end - 1 };
        fn.process!(key, wc, elements, this.out);
      } else if (fn.kind === 'reduce') this.out.collect(acc);
      else this.out.collect(fn.aggregate.getResult(acc));
    } catch (err) {
      throw userFunctionFailure(err, this.ctx);
    } finally {
      time.timestamp = ts;
    }
  }
}

/** An event-time window operator got a record without a timestamp. */
export function missingTimestamp(ctx: OperatorContext): EddyError {
  return new EddyError(
    'BAD_TIMESTAMP',
    `event-time window '${ctx.operatorUid}' got a record without a timestamp; give the source a WatermarkStrategy (env.fromSource(source, name, strategy)) or call assignTimestampsAndWatermarks`,
    { operatorUid: ctx.operatorUid, subtask: ctx.subtaskIndex },
  );
}

/**
 * A restored window operator found the other window operator's state (the general one's timers,
 * or the sliced one's due windows): the window configuration changed, or an earlier eddy wrote
 * the checkpoint. Refused, rather than losing the open windows in silence.
 */
export function otherWindowState(ctx: OperatorContext, found: string, expected: string): EddyError {
  return new EddyError(
    'STATE_NOT_RESTORED',
    `window operator '${ctx.operatorUid}' restored ${found}, but now runs as ${expected}: its window configuration (assigner, trigger, allowed lateness, function) or the eddy version differs from the one that wrote the checkpoint; restore with the same job and version, or start without restoring`,
    { operatorUid: ctx.operatorUid, subtask: ctx.subtaskIndex },
  );
}

/**
 * What both window operators take from the runtime: the keyed store (windows are keyed state,
 * so a stream that was not keyed is refused here), the operator context, and the output that
 * counts the operator's records out on their way to `next`.
 */
export function windowRuntime(
  op: { recordsOut: number },
  rt: OperatorRuntime,
  next: Collector<unknown>,
): { store: KeyedStateStore; ctx: OperatorContext; out: Collector<unknown> } {
  if (!rt.keyedStore) throw new EddyError('JOB_INVALID', `window operator '${rt.displayName}' needs a keyed stream; call keyBy(...) first`);
  const out = {
    collect(v: unknown) {
      op.recordsOut++;
      next.collect(v);
    },
  };
  return { store: rt.keyedStore, ctx: new OperatorContext(rt), out };
}
