/** PostgreSQL: a two-phase-commit / at-least-once / upsert sink and an ordered, rewindable source. */
export { postgres as postgresSink, type PostgresSinkOptions, type PostgresSinkMode, type PostgresCommitHandle } from './sink.js';
export { postgres as postgresSource, type PostgresSourceOptions, type PostgresSourceState } from './source.js';
