/** The public API of eddy: what job modules and programs import from 'eddy'. */
export { defineJob, type JobDefinition } from './api/job.js';
export { StreamExecutionEnvironment, type JobSettings } from './api/environment.js';
export { DataStream, KeyedStream, SingleOutputStreamOperator, OperatorHandle } from './api/datastream.js';
export * from './api/functions.js';
export * from './api/state.js';
export * from './api/watermarks.js';
export * from './api/windows.js';
export { ConnectedStreams, IntervalJoin, JoinedStreams, WindowJoin, type BroadcastProcessFunction } from './api/connected-streams.js';
export { AsyncDataStream, type AsyncFunction, type AsyncOptions, type AsyncOutputMode } from './api/async-stream.js';
export type { CoProcessFunction } from './operators/co-process.js';
export type { IntervalJoinFunction } from './operators/interval-join.js';
export { Sources, Sinks } from './connectors/index.js';
export type { Source, SourceReader, Sink, SinkWriter, ConnectorContext, PollStatus } from './connectors/types.js';
export type { PostgresSinkOptions, PostgresSinkMode, PostgresCommitHandle, PostgresSourceOptions, PostgresSourceState } from './connectors/index.js';
export { EddyError, type Failure, type FailureCode } from './failure.js';
export { runJob } from './runtime/executor.js';
export type { RunOptions, JobResult, JobProgress, OperatorMetrics, ConsistencyMode } from './runtime/options.js';
