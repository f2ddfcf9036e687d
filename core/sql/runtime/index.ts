/** The SQL changelog runtime: row kinds, changelog operators and the sinks that take changelogs. */
export {
  type Row,
  type RowKind,
  type ChangeRow,
  type ChangelogStepOptions,
  isAccumulate,
  isRetract,
  insertOnly,
  dropUpdateBefore,
} from './changelog.js';
export {
  appendOnlyGroupAggregate,
  groupAggregate,
  type AggregateKind,
  type AggregateSpec,
  type GroupAggregateOptions,
} from './group-aggregate.js';
export { regularJoin, type JoinType, type RegularJoinOptions } from './regular-join.js';
export { topN, appendOnlyTopN, type SortField, type TopNOptions } from './top-n.js';
export {
  sinkAcceptsUpdates,
  upsertSinkKey,
  markUpsertSink,
  sinkChangelog,
  withoutUpdateBefore,
  keyOf,
  type UpsertSink,
} from './sink-modes.js';
export {
  upsertJsonLinesFile,
  readUpsertJsonLines,
  type UpsertJsonLinesOptions,
  type UpsertLine,
  type ReadUpsertOptions,
} from './upsert-json-lines.js';
export { postgresUpsertSink, type PostgresUpsertOptions } from './postgres-upsert.js';
