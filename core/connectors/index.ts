/** The built-in sources and sinks, as users reach them: `Sources.textFile(...)`, `Sinks.print()`. */
import { fromElements } from './sources/collection.js';
import { generator } from './sources/generator.js';
import { textFile } from './sources/text-file.js';
import { jsonLinesFile } from './sinks/json-lines-file.js';
import { collect, discard, print } from './sinks/simple.js';
import { writeAhead } from './sinks/write-ahead.js';
import { idempotent } from './sinks/idempotent.js';
import { redisStream as redisStreamSource } from './redis/stream-source.js';
import { redisStream as redisStreamSink } from './redis/stream-sink.js';
import { jetstreamSource } from './jetstream/source.js';
import { jetstreamSink } from './jetstream/sink.js';

export const Sources = { textFile, generator, fromElements, redisStream: redisStreamSource, jetstream: jetstreamSource };
export const Sinks = { jsonLinesFile, print, discard, collect, writeAhead, idempotent, redisStream: redisStreamSink, jetstream: jetstreamSink };

export { textFile, generator, fromElements, jsonLinesFile, print, discard, collect };
export type { ConnectorContext, PollStatus, Sink, SinkWriter, Source, SourceReader } from './types.js';
export type { TextFileState } from './sources/text-file.js';
export type { GeneratorOptions, GeneratorState } from './sources/generator.js';
export type { CollectionState } from './sources/collection.js';
export type { JsonLinesFileOptions, PartFileHandle } from './sinks/json-lines-file.js';
export type { RedisStreamEntry, RedisStreamSourceOptions, RedisStreamSourceState, RedisStreamPosition } from './redis/stream-source.js';
export type { RedisStreamSinkOptions, RedisEntryFields } from './redis/stream-sink.js';
export type { JetStreamMessage, JetStreamSourceOptions, JetStreamSourceState, JetStreamPosition } from './jetstream/source.js';
export type { JetStreamSinkOptions } from './jetstream/sink.js';
