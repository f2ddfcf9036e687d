/**
 * assignTimestampsAndWatermarks: gives each record its event timestamp and runs the
 * strategy's watermark generator, whose watermarks replace any coming from upstream.
 */
import type { Collector } from '../contract/functions.js';
import type { TimestampAssigner, WatermarkStrategy } from '../time/watermark-strategy.js';
import type { WatermarkGenerator, WatermarkOutput } from '../time/generators.js';
import { EddyError } from '../failure.js';
import type { TaskTime, TimeTicker } from '../time/task-time.js';
import { userFunctionFailure } from './failures.js';
import { BaseOperator, type OperatorFactory, type OperatorRuntime } from './operator.js';

class TimestampsAndWatermarksOperator extends BaseOperator<unknown> implements TimeTicker, WatermarkOutput {
  readonly generatesWatermarks = true;
  due = Infinity;
  private current = -Infinity;
  private readonly generator: WatermarkGenerator<unknown>;
  private readonly assigner: TimestampAssigner<unknown> | undefined;
  private readonly time: TaskTime;
  private readonly where: { operatorUid: string; subtaskIndex: number };

  constructor(
    strategy: WatermarkStrategy<unknown>,
    private readonly rt: OperatorRuntime,
    private readonly next: Collector<unknown>,
  ) {
    super();
    this.generator = strategy.generator();
    this.assigner = strategy.assigner;
    this.time = rt.time;
    this.where = { operatorUid: rt.displayName, subtaskIndex: rt.subtaskIndex };
  }

  override open(): void {
    const interval = this.rt.autoWatermarkIntervalMs;
    if (interval > 0) {
      this.due = Date.now() + interval;
      this.time.addTicker(this);
    }
  }

  collect(value: unknown): void {
    this.recordsIn++;
    const time = this.time;
    let ts = time.timestamp;
    try {
      if (this.assigner !== undefined) ts = this.assigner(value, ts);
    } catch (err) {
      throw userFunctionFailure(err, this.where);
    }
    if (typeof ts !== 'number' || ts !== ts) {
      throw new EddyError(
        'BAD_TIMESTAMP',
        `'${this.where.operatorUid}' got ${this.assigner ? `timestamp ${String(ts)} from its timestamp assigner` : 'a record without a timestamp'}; a timestamp is a number of milliseconds (use withTimestampAssigner)`,
        { operatorUid: this.where.operatorUid, subtask: this.where.subtaskIndex },
      );
    }
    time.timestamp = ts;
    try {
      this.generator.onEvent(value, ts, this);
    } catch (err) {
      throw userFunctionFailure(err, this.where);
    }
    // A punctuated watermark may have fired timers downstream, which set their own timestamps.
    time.timestamp = ts;
    this.recordsOut++;
    this.next.collect(value);
  }

  onTick(now: number): number {
    try {
      this.generator.onPeriodicEmit(this);
    } catch (err) {
      throw userFunctionFailure(err, this.where);
    }
    return now + this.rt.autoWatermarkIntervalMs;
  }

  emitWatermark(watermark: number): void {
    if (!(watermark > this.current)) return;
    this.current = watermark;
    this.time.watermark(this.rt.chainIndex, watermark);
  }

  markIdle(): void {
    this.time.idle(this.rt.chainIndex);
  }

  markActive(): void {
    this.time.watermark(this.rt.chainIndex, this.current);
  }

  processWatermark(watermark: number): void {
    // Only the end of input (+Infinity) gets past an assigner; it is this operator's too.
    if (watermark > this.current) this.current = watermark;
  }
}

export const timestampsOperator =
  (strategy: WatermarkStrategy<unknown>): OperatorFactory =>
  (rt, next) =>
    new TimestampsAndWatermarksOperator(strategy, rt, next);
