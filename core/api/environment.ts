/**
 * What a job module's build function receives: sources, arguments and job-wide settings. The
 * settings made here are the job's own; EDDY_* variables and then command-line flags
 * override them (see core/runtime/settings.ts).
 */
import type { Source } from '../connectors/types.js';
import { EddyError } from '../failure.js';
import { StreamGraph } from '../graph/stream-graph.js';
import type { ConsistencyMode } from '../contract/consistency.js';
import { DataStream, type SingleOutputStreamOperator } from './datastream.js';
import type { WatermarkStrategy } from '../time/watermark-strategy.js';

/** The job's own settings, made in its build function; EDDY_* variables and flags override them. */
export interface JobSettings {
  /** Default parallelism of every operator (`--parallelism`). */
  parallelism?: number;
  /** Number of key groups, the bound of any rescale (`--max-parallelism`, default 128). */
  maxParallelism?: number;
  /** Send a partly filled batch after this many ms (`--buffer-timeout`, default 5). */
  bufferTimeoutMs?: number;
  /** Checkpoint every this many ms (`--checkpoint-interval`). */
  checkpointIntervalMs?: number;
  /** Checkpointing mode (`--mode`). */
  mode?: ConsistencyMode;
}

/**
 * What the main thread's build of a job leaves for the builds of the same job in the worker
 * threads, by extension (e.g. the SQL statements it parsed). Plain data: it crosses threads in
 * every task spec, so never closures (user functions are rebuilt in every thread).
 */
export type BuildNotes = Record<string, unknown>;

/**
 * What a job's build function receives (Flink's `StreamExecutionEnvironment`): sources
 * (`fromSource`), arguments (`arg`) and job-wide settings.
 */
export class StreamExecutionEnvironment {
  /** @internal */
  readonly graph = new StreamGraph();
  /** @internal The settings made by the job (see {@link JobSettings}). */
  readonly settings: JobSettings = {};
  /** @internal What this build leaves for the workers' builds (see {@link BuildNotes}). */
  readonly notes: BuildNotes = {};

  /**
   * @param replayOf set in a worker thread: the notes of the main thread's build of the same
   * job, which this build repeats. The main thread has already built and checked it (a worker
   * whose graph differs fails on the fingerprint), so an extension may take what the notes
   * hold instead of working it out again, and skip what only checks the job.
   */
  constructor(
    private readonly args: Readonly<Record<string, string>>,
    /** @internal */ readonly replayOf?: Readonly<BuildNotes>,
  ) {}

  /** The value of `--arg name=value`, else the fallback, else a MISSING_ARG failure. */
  arg(name: string, fallback?: string): string {
    const v = this.args[name];
    if (v !== undefined) return v;
    if (fallback !== undefined) return fallback;
    throw new EddyError('MISSING_ARG', `the job needs --arg ${name}=VALUE (env.arg('${name}') has no value and no fallback)`);
  }

  /** Default parallelism of every operator; `--parallelism` overrides it. */
  setParallelism(n: number): this {
    this.settings.parallelism = positive('setParallelism', n);
    return this;
  }

  /** Number of key groups, the upper bound of rescaling (default 128); fixed for the life of the job's state. */
  setMaxParallelism(n: number): this {
    this.settings.maxParallelism = positive('setMaxParallelism', n);
    return this;
  }

  /** Longest time a partly filled batch waits before it is sent, in ms (default 5; 0 sends every record at once). */
  setBufferTimeout(ms: number): this {
    if (!(ms >= 0)) throw new EddyError('JOB_INVALID', `setBufferTimeout expects milliseconds >= 0, got ${ms}`);
    this.settings.bufferTimeoutMs = ms;
    return this;
  }

  /** Checkpoints every `intervalMs` in `mode` (default exactly-once); flags override both. */
  enableCheckpointing(intervalMs: number, mode: ConsistencyMode = 'exactly-once'): this {
    this.settings.checkpointIntervalMs = positive('enableCheckpointing', intervalMs);
    this.settings.mode = mode;
    return this;
  }

  /** How often timestamp assigners emit periodic watermarks (default 200 ms; 0 turns it off). */
  setAutoWatermarkInterval(ms: number): this {
    if (!(ms >= 0) || !Number.isFinite(ms))
      throw new EddyError('JOB_INVALID', `setAutoWatermarkInterval expects milliseconds >= 0, got ${ms}`);
    this.graph.autoWatermarkIntervalMs = ms;
    return this;
  }

  /**
   * A source; with a watermark strategy, each source subtask assigns its records' event
   * timestamps and makes watermarks itself (so one idle subtask can be marked idle).
   */
  fromSource<T>(source: Source<T>, name?: string, strategy?: WatermarkStrategy<T>): SingleOutputStreamOperator<T> {
    if (strategy !== undefined && typeof (strategy as { generator?: unknown }).generator !== 'function') {
      throw new EddyError(
        'JOB_INVALID',
        'fromSource: the third argument must be a WatermarkStrategy (e.g. WatermarkStrategy.forBoundedOutOfOrderness(ms))',
      );
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

/**
 * Every copy of this class in the thread (a TypeScript job loaded through tsx imports its own
 * copy of 'eddy'), so that extensions such as env.sql (core/sql) reach the environment the
 * runtime made, whichever copy defined them.
 */
export const ENVIRONMENT_PROTOTYPES = Symbol.for('eddy.environment.prototypes');
((globalThis as Record<symbol, Set<object> | undefined>)[ENVIRONMENT_PROTOTYPES] ??= new Set()).add(StreamExecutionEnvironment.prototype);

function positive(what: string, n: number): number {
  if (!Number.isInteger(n) || n < 1) throw new EddyError('JOB_INVALID', `${what} expects a positive integer, got ${n}`);
  return n;
}
