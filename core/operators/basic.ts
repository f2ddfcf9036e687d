/** The stateless record-at-a-time operators; keyed state reaches them through ctx. */
import type {
  Collector,
  FilterFunction,
  FlatMapFunction,
  MapFunction,
  ProcessFunction,
  ProcessFunctionObject,
} from '../contract/functions.js';
import { BaseOperator, type OperatorFactory, type OperatorRuntime } from './operator.js';
import { OperatorContext } from './context.js';
import { operatorFailure, userFunctionFailure } from './failures.js';
import { keyedTimerService, userTimerService, type KeyedTimerService } from '../time/timer-service.js';
import type { OnTimerContext } from '../contract/functions.js';

class MapOperator extends BaseOperator<unknown> {
  constructor(
    private readonly fn: MapFunction<unknown, unknown>,
    private readonly ctx: OperatorContext,
    private readonly next: Collector<unknown>,
  ) {
    super();
  }
  collect(value: unknown): void {
    this.recordsIn++;
    let r: unknown;
    try {
      r = this.fn(value, this.ctx);
    } catch (err) {
      throw userFunctionFailure(err, this.ctx);
    }
    this.recordsOut++;
    this.next.collect(r);
  }
}

class FilterOperator extends BaseOperator<unknown> {
  constructor(
    private readonly fn: FilterFunction<unknown>,
    private readonly ctx: OperatorContext,
    private readonly next: Collector<unknown>,
  ) {
    super();
  }
  collect(value: unknown): void {
    this.recordsIn++;
    let keep: boolean;
    try {
      keep = this.fn(value, this.ctx);
    } catch (err) {
      throw userFunctionFailure(err, this.ctx);
    }
    if (keep) {
      this.recordsOut++;
      this.next.collect(value);
    }
  }
}

/** Counts what the user function emits on its way to the next operator. */
class CountingCollector implements Collector<unknown> {
  constructor(
    private readonly op: BaseOperator<unknown>,
    private readonly next: Collector<unknown>,
  ) {}
  collect(value: unknown): void {
    this.op.recordsOut++;
    this.next.collect(value);
  }
}

class FlatMapOperator extends BaseOperator<unknown> {
  private readonly out: CountingCollector;
  constructor(
    private readonly fn: FlatMapFunction<unknown, unknown>,
    private readonly ctx: OperatorContext,
    next: Collector<unknown>,
  ) {
    super();
    this.out = new CountingCollector(this, next);
  }
  collect(value: unknown): void {
    this.recordsIn++;
    try {
      this.fn(value, this.out, this.ctx);
    } catch (err) {
      throw userFunctionFailure(err, this.ctx);
    }
  }
}

export class ProcessOperator extends BaseOperator<unknown> {
  protected readonly out: CountingCollector;
  protected readonly obj: ProcessFunctionObject<unknown, unknown>;
  /** On a keyed stream: the timers behind ctx.timers and onTimer. */
  private readonly timers: KeyedTimerService | undefined;
  constructor(
    fn: ProcessFunction<unknown, unknown>,
    protected readonly ctx: OperatorContext,
    next: Collector<unknown>,
    rt: OperatorRuntime,
  ) {
    super();
    this.out = new CountingCollector(this, next);
    this.obj = typeof fn === 'function' ? { processElement: fn } : fn;
    if (rt.keyedStore) {
      const timers = keyedTimerService({ ...rt, keyedStore: rt.keyedStore });
      this.timers = timers;
      ctx.timers = userTimerService(timers, { uid: rt.uid, displayName: rt.displayName, subtask: rt.subtaskIndex });
      timers.setCallback((time, _key, _ns, domain) => {
        ctx.timeDomain = domain;
        try {
          this.obj.onTimer?.(time, ctx as OperatorContext & OnTimerContext, this.out);
        } catch (err) {
          throw userFunctionFailure(err, ctx);
        }
      });
    }
  }
  processWatermark(watermark: number): void {
    this.timers?.advanceWatermark(watermark);
  }
  override open(): Promise<void> | void {
    return this.obj.open?.(this.ctx);
  }
  collect(value: unknown): void {
    this.recordsIn++;
    try {
      this.obj.processElement(value, this.ctx, this.out);
    } catch (err) {
      throw userFunctionFailure(err, this.ctx);
    }
  }
  override close(): Promise<void> | void {
    return this.obj.close?.();
  }
  snapshotState(checkpointId: number): void {
    if (!this.obj.snapshotState) return;
    try {
      this.obj.snapshotState(checkpointId, this.ctx);
    } catch (err) {
      throw operatorFailure(
        err,
        'USER_FUNCTION_FAILED',
        `snapshotState of checkpoint ${checkpointId} threw`,
        this.ctx.operatorUid,
        this.ctx.subtaskIndex,
      );
    }
  }
  notifyCheckpointComplete(checkpointId: number): void {
    try {
      this.obj.notifyCheckpointComplete?.(checkpointId, this.ctx);
    } catch (err) {
      throw operatorFailure(
        err,
        'USER_FUNCTION_FAILED',
        `notifyCheckpointComplete(${checkpointId}) threw`,
        this.ctx.operatorUid,
        this.ctx.subtaskIndex,
      );
    }
  }
  async initializeState(restored: boolean): Promise<void> {
    if (restored) this.timers?.restore();
    if (!this.obj.initializeState) return;
    try {
      await this.obj.initializeState(this.ctx, restored);
    } catch (err) {
      throw operatorFailure(err, 'USER_FUNCTION_FAILED', 'initializeState threw', this.ctx.operatorUid, this.ctx.subtaskIndex);
    }
  }
}

export const mapOperator =
  (fn: MapFunction<unknown, unknown>): OperatorFactory =>
  (rt, next) =>
    new MapOperator(fn, new OperatorContext(rt), next);
export const filterOperator =
  (fn: FilterFunction<unknown>): OperatorFactory =>
  (rt, next) =>
    new FilterOperator(fn, new OperatorContext(rt), next);
export const flatMapOperator =
  (fn: FlatMapFunction<unknown, unknown>): OperatorFactory =>
  (rt, next) =>
    new FlatMapOperator(fn, new OperatorContext(rt), next);
export const processOperator =
  (fn: ProcessFunction<unknown, unknown>): OperatorFactory =>
  (rt, next) =>
    new ProcessOperator(fn, new OperatorContext(rt), next, rt);

/** Passes records on unchanged (the head of a side-output stream). */
class IdentityOperator extends BaseOperator<unknown> {
  constructor(private readonly next: Collector<unknown>) {
    super();
  }
  collect(value: unknown): void {
    this.recordsIn++;
    this.recordsOut++;
    this.next.collect(value);
  }
}

export const identityOperator: OperatorFactory = (_rt, next) => new IdentityOperator(next);
