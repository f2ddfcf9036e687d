/**
 * What a job module's build function receives: sources, arguments and job-wide settings. The
 * settings made here are the job's own; EDDY_* variables and then command-line flags
 * override them (see core/runtime/settings.ts).
 */
import type { Source } from '../connectors/types.js';
import { EddyError } from '../failure.js';
import { StreamGraph } from '../graph/stream-graph.js';
import type { ConsistencyMode } from '../runtime/options.js';
import { DataStream, type SingleOutputStreamOperator } from './datastream.js';
import type { WatermarkStrategy } from './watermarks.js';

export interface JobSettings {
  parallelism?: number;
  maxParallelism?: number;
  bufferTimeoutMs?: number;
  checkpointIntervalMs?: number;
  mode?: ConsistencyMode;
}

export class StreamExecutionEnvironment {
  readonly graph = new StreamGraph();
  readonly settings: JobSettings = {};

  constructor(private readonly args: Readonly<Record<string, string>>) {}

  /** The value of `--arg name=value`, else the fallback, else a MISSING_ARG failure. */
  arg(name: string, fallback?: string): string {
    const v = this.args[name];
    if (v !== undefined) return v;
    if (fallback !== undefined) return fallback;
    throw new EddyError('MISSING_ARG', `the job needs --arg ${name}=VALUE (env.arg('${name}') has no value and no fallback)`);
  }

  setParallelism(n: number): this {
    this.settings.parallelism = positive('setParallelism', n);
    return this;
  }

  setMaxParallelism(n: number): this {
    this.settings.maxParallelism = positive('setMaxParallelism', n);
    return this;
  }

  setBufferTimeout(ms: number): this {
    if (!(ms >= 0)) throw new EddyError('JOB_INVALID', `setBufferTimeout expects milliseconds >= 0, got ${ms}`);
    this.settings.bufferTimeoutMs = ms;
    return this;
  }

  enableCheckpointing(intervalMs: number, mode: ConsistencyMode = 'exactly-once'): this {
    this.settings.checkpointIntervalMs = positive('enableCheckpointing', intervalMs);
    this.settings.mode = mode;
    return this;
  }

  /** How often timestamp assigners emit periodic watermarks (default 200 ms; 0 turns it off). */
  setAutoWatermarkInterval(ms: number): this {
    if (!(ms >= 0) || !Number.isFinite(ms)) throw new EddyError('JOB_INVALID', `setAutoWatermarkInterval expects milliseconds >= 0, got ${ms}`);
    this.graph.autoWatermarkIntervalMs = ms;
    return this;
  }

  /**
   * A source; with a watermark strategy, each source subtask assigns its records' event
   * timestamps and makes watermarks itself (so one idle subtask can be marked idle).
   */
  fromSource<T>(source: Source<T>, name?: string, strategy?: WatermarkStrategy<T>): SingleOutputStreamOperator<T> {
    if (strategy !== undefined && typeof (strategy as { generator?: unknown }).generator !== 'function') {
      throw new EddyError('JOB_INVALID', 'fromSource: the third argument must be a WatermarkStrategy (e.g. WatermarkStrategy.forBoundedOutOfOrderness(ms))');
    }
    const node = this.graph.addNode({
      kind: 'source',
      name: name ?? source.kind,
      stateful: source.stateful,
      source: source as Source<unknown>,
      parallelismCap: source.maxParallelism,
      watermarks: strategy as WatermarkStrategy<unknown> | undefined,
      assignsTimestamps: strategy !== undefined,
    });
    return DataStream.forNode<T>(this.graph, node.id);
  }
}

function positive(what: string, n: number): number {
  if (!Number.isInteger(n) || n < 1) throw new EddyError('JOB_INVALID', `${what} expects a positive integer, got ${n}`);
  return n;
}
