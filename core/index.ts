/** The public API of eddy: what job modules and programs import from 'eddy'. */
export { defineJob, type JobDefinition } from './api/job.js';
export { StreamExecutionEnvironment, type JobSettings } from './api/environment.js';
export { DataStream, KeyedStream, SingleOutputStreamOperator, OperatorHandle } from './api/datastream.js';
export * from './api/functions.js';
export * from './api/state.js';
export * from './api/watermarks.js';
export * from './api/windows.js';
export { ConnectedStreams, IntervalJoin, JoinedStreams, WindowJoin, type BroadcastProcessFunction } from './api/connected-streams.js';
export type { CoProcessFunction } from './operators/co-process.js';
export type { IntervalJoinFunction } from './operators/interval-join.js';
export { Sources, Sinks } from './connectors/index.js';
export type { FileSourceOptions, Compression, JsonLinesOptions, CsvOptions, CsvColumn, CsvColumnType, InvalidLine, InvalidLinePolicy, ParseCounts, DirectoryOptions, DirectoryFormat } from './connectors/index.js';
export type { Source, SourceReader, Sink, SinkWriter, ConnectorContext, ConnectorReport, CollectedChunk, PollStatus } from './connectors/types.js';
export { nexmarkEventTime, NEXMARK_WATERMARK_DELAY_MS } from './connectors/index.js';
export type { NexmarkOptions, NexmarkEvent, Person, Auction, Bid } from './connectors/index.js';
export { EddyError, type Failure, type FailureCode } from './failure.js';
export { runJob } from './runtime/job-run.js';
export type { RunOptions, JobResult, JobProgress, OperatorMetrics, ConsistencyMode } from './runtime/options.js';
