/**
 * Watermark strategies (Flink's WatermarkStrategy): how records get their event timestamp and
 * how the watermark — "no record older than this will come" — is derived from them. Attach
 * one with `env.fromSource(source, name, strategy)` or `stream.assignTimestampsAndWatermarks`.
 */
import { EddyError } from '../failure.js';
import { BoundedOutOfOrderness, NoWatermarks, WithIdleness, type WatermarkGenerator } from './generators.js';

/** The event time of a record, in milliseconds; `previous` is the timestamp it already had. */
export type TimestampAssigner<T> = (event: T, previous: number) => number;

/** Default auto-watermark interval, as in Flink (env.setAutoWatermarkInterval changes it). */
export const DEFAULT_AUTO_WATERMARK_INTERVAL_MS = 200;

/**
 * How records get their event timestamp and how watermarks are made (Flink's
 * `WatermarkStrategy`): pick a generator with a static method, then optionally
 * `.withTimestampAssigner(fn)` and `.withIdleness(ms)`.
 */
export class WatermarkStrategy<T> {
  private constructor(
    /** Makes one generator per parallel subtask. */
    readonly createGenerator: () => WatermarkGenerator<T>,
    readonly assigner: TimestampAssigner<T> | undefined,
    readonly idleMs: number | undefined,
  ) {}

  /** Events at most `maxOutOfOrdernessMs` behind the highest timestamp seen are on time. */
  static forBoundedOutOfOrderness<T>(maxOutOfOrdernessMs: number): WatermarkStrategy<T> {
    if (!(maxOutOfOrdernessMs >= 0) || !Number.isFinite(maxOutOfOrdernessMs)) {
      throw new EddyError('JOB_INVALID', `forBoundedOutOfOrderness expects milliseconds >= 0, got ${maxOutOfOrdernessMs}`);
    }
    return new WatermarkStrategy<T>(() => new BoundedOutOfOrderness<T>(maxOutOfOrdernessMs), undefined, undefined);
  }

  /** Timestamps never decrease (per parallel source subtask). */
  static forMonotonousTimestamps<T>(): WatermarkStrategy<T> {
    return new WatermarkStrategy<T>(() => new BoundedOutOfOrderness<T>(0), undefined, undefined);
  }

  /** Timestamps without watermarks: event time advances only at the end of a bounded input. */
  static noWatermarks<T>(): WatermarkStrategy<T> {
    return new WatermarkStrategy<T>(() => new NoWatermarks<T>(), undefined, undefined);
  }

  /** A custom generator (one instance per parallel subtask). */
  static forGenerator<T>(factory: () => WatermarkGenerator<T>): WatermarkStrategy<T> {
    if (typeof factory !== 'function') throw new EddyError('JOB_INVALID', 'forGenerator expects a function () => WatermarkGenerator');
    return new WatermarkStrategy<T>(factory, undefined, undefined);
  }

  /** Ingestion time: each record's timestamp is the wall clock when the assigner sees it. */
  static forIngestionTime<T>(): WatermarkStrategy<T> {
    return new WatermarkStrategy<T>(
      () => new BoundedOutOfOrderness<T>(0),
      () => Date.now(),
      undefined,
    );
  }

  /** The record's event time in ms: `(event, previous) => timestamp`; without one, records keep the timestamp they have. */
  withTimestampAssigner(assigner: TimestampAssigner<T>): WatermarkStrategy<T> {
    if (typeof assigner !== 'function')
      throw new EddyError('JOB_INVALID', 'withTimestampAssigner expects a function (event, previous) => timestamp');
    return new WatermarkStrategy<T>(this.createGenerator, assigner, this.idleMs);
  }

  /** After `idleMs` of wall-clock time without events, the subtask is marked idle. */
  withIdleness(idleMs: number): WatermarkStrategy<T> {
    if (!(idleMs > 0) || !Number.isFinite(idleMs))
      throw new EddyError('JOB_INVALID', `withIdleness expects milliseconds > 0, got ${idleMs}`);
    return new WatermarkStrategy<T>(this.createGenerator, this.assigner, idleMs);
  }

  /** @internal The generator for one subtask, idleness included. */
  generator(): WatermarkGenerator<T> {
    const g = this.createGenerator();
    return this.idleMs === undefined ? g : new WithIdleness(g, this.idleMs);
  }
}
