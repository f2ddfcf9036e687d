/** The public API of eddy: what job modules and programs import from 'eddy'. */
export { defineJob, type JobDefinition } from './api/job.js';
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
export { runJob } from './runtime/job-run.js';
export type { RunOptions, JobResult, JobProgress, OperatorMetrics } from './runtime/options.js';
export type { ConsistencyMode } from './contract/consistency.js';
export type { ExceptionEntry } from './observe/failure-history.js';
export {
  SqlSession,
  formatPlan,
  registerFunction,
  type UserFunction,
  type StatementResult,
  type ChangeRow,
  type RowKind,
} from './sql/index.js';
export { readUpsertJsonLines, type ReadUpsertOptions } from './sql/runtime/upsert-json-lines.js';
