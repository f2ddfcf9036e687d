/**
 * The public API of eddy: what job modules and programs import from 'eddy'. SQL (SqlSession,
 * registerFunction, readUpsertJsonLines, ...) is 'eddy/sql' (core/sql/index.ts).
 *
 * Every job module imports this file, in the main thread and again in each of the job's
 * worker threads, so it imports only what a job's build needs. What only the main thread runs
 * (runJob: the coordinator, the REST server, the pool; about 30 modules) and the SQL planner
 * (about 55) are loaded when used: importing them in each worker cost most of its start (the
 * engine's import, about 260 ms of CPU per thread with them).
 */
import type { JobResult, RunOptions } from './runtime/options.js';

export { defineJob, type JobDefinition } from './api/job.js';
import { StreamExecutionEnvironment } from './api/environment.js';

export { StreamExecutionEnvironment, type JobSettings } from './api/environment.js';
export { DataStream, KeyedStream, SingleOutputStreamOperator, OperatorHandle } from './api/datastream.js';
export * from './contract/functions.js';
export * from './contract/state.js';
export * from './time/watermark-strategy.js';
export type { WatermarkGenerator, WatermarkOutput } from './time/generators.js';
export * from './api/windows.js';
export { ConnectedStreams, IntervalJoin, JoinedStreams, WindowJoin, type BroadcastProcessFunction } from './api/connected-streams.js';
export { AsyncDataStream, type AsyncFunction, type AsyncOptions, type AsyncOutputMode } from './api/async-stream.js';
export type { CoProcessFunction } from './operators/co-process.js';
export type { IntervalJoinFunction } from './operators/interval-join.js';
export { Sources, Sinks } from './connectors/index.js';
export type {
  FileSourceOptions,
  Compression,
  JsonLinesOptions,
  CsvOptions,
  CsvColumn,
  CsvColumnType,
  InvalidLine,
  InvalidLinePolicy,
  ParseCounts,
  DirectoryOptions,
  DirectoryFormat,
} from './connectors/index.js';
export type {
  Source,
  SourceReader,
  Sink,
  SinkWriter,
  ConnectorContext,
  ConnectorReport,
  CollectedChunk,
  PollStatus,
  SplitPosition,
} from './connectors/types.js';
export { nexmarkEventTime, NEXMARK_WATERMARK_DELAY_MS } from './connectors/index.js';
export type { NexmarkOptions, NexmarkEvent, Person, Auction, Bid } from './connectors/index.js';
export type {
  RedisStreamEntry,
  RedisStreamSourceOptions,
  RedisStreamSinkOptions,
  JetStreamMessage,
  JetStreamSourceOptions,
  JetStreamSinkOptions,
} from './connectors/index.js';
export type {
  PostgresSinkOptions,
  PostgresSinkMode,
  PostgresCommitHandle,
  PostgresSourceOptions,
  PostgresSourceState,
} from './connectors/index.js';
export { EddyError, type Failure, type FailureCode, type RecordOrigin } from './failure.js';
export type { RunOptions, JobResult, JobProgress, OperatorMetrics } from './runtime/options.js';
export type { ConsistencyMode } from './contract/consistency.js';
export type { ExceptionEntry } from './observe/failure-history.js';
// Types only (no import at run time); they also bring env.sql's declaration (core/sql/index.ts).
export type { UserFunction, StatementResult, ChangeRow, RowKind } from './sql/index.js';
export type { ReadUpsertOptions } from './sql/runtime/upsert-json-lines.js';

/**
 * Runs the job module at `jobPath` in this process, as `eddy run` does (core/runtime/job-run.ts
 * says how). SQL is loaded when the job's build needs it: a build that fails without SQL as a
 * TypeError (env.sql is not there) is run again once SQL is loaded (a job module that imports 'eddy/sql' has it from the start). A worker
 * thread loads it only for a job whose build in the main thread used it (workers/bootstrap.ts).
 */
export async function runJob(jobPath: string, options?: RunOptions, opts?: { signal?: AbortSignal }): Promise<JobResult> {
  const run = await import('./runtime/job-run.js');
  return run.runJob(jobPath, options, opts, loadSql);
}

/**
 * Loads SQL unless it is loaded; true if it was not. Every `eddy run` and every program's first
 * runJob imported SQL (about 0.15 s of CPU) before the build, which most jobs do not need.
 */
async function loadSql(): Promise<boolean> {
  if (typeof (StreamExecutionEnvironment.prototype as { sql?: unknown }).sql === 'function') return false;
  await import('./sql/index.js');
  return true;
}
