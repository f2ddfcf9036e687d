/** The built-in sources and sinks, as users reach them: `Sources.textFile(...)`, `Sinks.print()`. */
import { fromElements } from './sources/collection.js';
import { generator } from './sources/generator.js';
import { textFile } from './sources/text-file.js';
import { jsonLinesFile } from './sinks/json-lines-file.js';
import { collect, discard, print } from './sinks/simple.js';
import { writeAhead } from './sinks/write-ahead.js';
import { idempotent } from './sinks/idempotent.js';
import { postgresSink, postgresSource } from './postgres/index.js';

export const Sources = { textFile, generator, fromElements, postgres: postgresSource };
export const Sinks = { jsonLinesFile, print, discard, collect, writeAhead, idempotent, postgres: postgresSink };

export { textFile, generator, fromElements, jsonLinesFile, print, discard, collect };
export type { ConnectorContext, PollStatus, Sink, SinkWriter, Source, SourceReader } from './types.js';
export type { TextFileState } from './sources/text-file.js';
export type { GeneratorOptions, GeneratorState } from './sources/generator.js';
export type { CollectionState } from './sources/collection.js';
export type { JsonLinesFileOptions, PartFileHandle } from './sinks/json-lines-file.js';
export type { PostgresSinkOptions, PostgresSinkMode, PostgresCommitHandle, PostgresSourceOptions, PostgresSourceState } from './postgres/index.js';
