/** The built-in sources and sinks, as users reach them: `Sources.textFile(...)`, `Sinks.print()`. */
import { fromElements } from './sources/collection.js';
import { generator } from './sources/generator.js';
import { textFile } from './sources/text-file.js';
import { jsonLines } from './sources/json-lines.js';
import { csv } from './sources/csv.js';
import { directory } from './sources/directory.js';
import { nexmark } from './sources/nexmark/source.js';
import { jsonLinesFile } from './sinks/json-lines-file.js';
import { collect, discard, print } from './sinks/simple.js';
import { writeAhead } from './sinks/write-ahead.js';
import { idempotent } from './sinks/idempotent.js';
import { redisStream as redisStreamSource } from './redis/stream-source.js';
import { redisStream as redisStreamSink } from './redis/stream-sink.js';
import { jetstreamSource } from './jetstream/source.js';
import { jetstreamSink } from './jetstream/sink.js';
import { postgresSink, postgresSource } from './postgres/index.js';

/**
 * The built-in sources: `Sources.textFile(path)`, `Sources.jsonLines(path)`, `Sources.csv(path, { columns })`, …
 * @namespace
 */
export const Sources = {
  textFile,
  generator,
  fromElements,
  jsonLines,
  csv,
  directory,
  nexmark,
  /** The entries of Redis streams, replayable from the checkpointed entry id, bounded or continuous, optionally via a consumer group. */
  redisStream: redisStreamSource,
  /** The messages of a NATS JetStream stream, replayable from the checkpointed stream sequence. */
  jetstream: jetstreamSource,
  /** The rows of a PostgreSQL table or query in order of an increasing column (and xid8), bounded or continuous. */
  postgres: postgresSource,
};
/**
 * The built-in sinks: `Sinks.jsonLinesFile(dir)`, `Sinks.print()`, `Sinks.collect()`, …
 * @namespace
 */
export const Sinks = {
  jsonLinesFile,
  print,
  discard,
  collect,
  writeAhead,
  idempotent,
  /** One Redis stream entry per record: exactly-once (write-ahead batches, atomic Lua commit with a ledger) or at-least-once. */
  redisStream: redisStreamSink,
  /** One JetStream message per record: exactly-once within the duplicate window (Nats-Msg-Id, KV ledger) or at-least-once. */
  jetstream: jetstreamSink,
  /** Rows into a PostgreSQL table: exactly-once (PREPARE TRANSACTION / COMMIT PREPARED), upsert or at-least-once. */
  postgres: postgresSink,
};

export { textFile, generator, fromElements, jsonLinesFile, print, discard, collect };
export type { ConnectorContext, PollStatus, Sink, SinkWriter, Source, SourceReader } from './types.js';
export type { TextFileState, FileSourceOptions, Compression } from './sources/text-file.js';
export type { JsonLinesOptions } from './sources/json-lines.js';
export type { CsvOptions, CsvColumn, CsvColumnType } from './sources/csv.js';
export type { InvalidLine, InvalidLinePolicy, ParseCounts } from './sources/line-parsing.js';
export type { DirectoryOptions, DirectoryFormat, DirectoryState } from './sources/directory.js';
export type { GeneratorOptions, GeneratorState } from './sources/generator.js';
export type { CollectionState } from './sources/collection.js';
export type { NexmarkOptions } from './sources/nexmark/config.js';
export type { NexmarkEvent, Person, Auction, Bid } from './sources/nexmark/model.js';
export { eventTime as nexmarkEventTime } from './sources/nexmark/model.js';
export { WATERMARK_DELAY_MS as NEXMARK_WATERMARK_DELAY_MS } from './sources/nexmark/config.js';
export type { JsonLinesFileOptions, PartFileHandle } from './sinks/json-lines-file.js';
export type { RedisStreamEntry, RedisStreamSourceOptions, RedisStreamSourceState, RedisStreamPosition } from './redis/stream-source.js';
export type { RedisStreamSinkOptions, RedisEntryFields } from './redis/stream-sink.js';
export type { JetStreamMessage, JetStreamSourceOptions, JetStreamSourceState, JetStreamPosition } from './jetstream/source.js';
export type { JetStreamSinkOptions } from './jetstream/sink.js';
export type {
  PostgresSinkOptions,
  PostgresSinkMode,
  PostgresCommitHandle,
  PostgresSourceOptions,
  PostgresSourceState,
} from './postgres/index.js';
