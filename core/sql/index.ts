/**
 * Streaming SQL inside a job module: `env.sql(text)` runs DDL and INSERT statements (adding
 * pipelines to the job), `env.sqlQuery(select)` returns the query's result as a DataStream to
 * continue with the DataStream API. Installed on StreamExecutionEnvironment from here, so the
 * api folder does not import the sql folder.
 */
import { ENVIRONMENT_PROTOTYPES, StreamExecutionEnvironment } from '../api/environment.js';
import type { DataStream } from '../api/datastream.js';
import type { Row } from './expressions.js';
import { parseOnce } from './parse-once.js';
import { parseQuery } from './parser.js';
import type { ChangeRow } from './runtime/changelog.js';
import { SqlSession, type StatementResult } from './session.js';

declare module '../api/environment.js' {
  interface StreamExecutionEnvironment {
    /**
     * Runs SQL statements (`CREATE TABLE`, `CREATE VIEW`, `INSERT INTO … SELECT`, `SELECT`,
     * `EXPLAIN`, `SET`), `;`-separated. Tables and views stay known to later calls on this
     * environment. INSERT and SELECT add pipelines to the job; returns what each statement did.
     * `options.baseDir`: the folder `CREATE FUNCTION … AS './module.js'` paths are resolved
     * from (default: the working directory).
     */
    sql(text: string, options?: { baseDir?: string }): StatementResult[];
    /**
     * The result of a SELECT as a stream: rows (plain objects keyed by column name) for an
     * append-only query, `ChangeRow`s (`{ kind: '+I' | '-U' | '+U' | '-D', row }`) for an
     * updating one (a non-windowed GROUP BY, a regular join, a Top-N). Tables come from
     * earlier `env.sql(…)` calls. Operator uids start with `sql-<name>` (default `query-N`).
     */
    sqlQuery<T = Row | ChangeRow>(select: string, name?: string): DataStream<T>;
  }
}

const sessions = new WeakMap<StreamExecutionEnvironment, { session: SqlSession; queries: number }>();

function sessionOf(env: StreamExecutionEnvironment): { session: SqlSession; queries: number } {
  let s = sessions.get(env);
  if (!s) sessions.set(env, (s = { session: new SqlSession(env), queries: 0 }));
  return s;
}

function sql(this: StreamExecutionEnvironment, text: string, options?: { baseDir?: string }): StatementResult[] {
  return sessionOf(this).session.execute(text, options?.baseDir);
}

function sqlQuery<T>(this: StreamExecutionEnvironment, select: string, name?: string): DataStream<T> {
  const s = sessionOf(this);
  return s.session.query(parseOnce(this, 'query', select, parseQuery), name ?? `query-${++s.queries}`).stream as DataStream<T>;
}

// On every copy of the class in this thread: the runtime's environment may come from another
// copy of eddy than the job's import (see ENVIRONMENT_PROTOTYPES).
StreamExecutionEnvironment.prototype.sql = sql;
StreamExecutionEnvironment.prototype.sqlQuery = sqlQuery;
for (const proto of (globalThis as Record<symbol, Set<object> | undefined>)[ENVIRONMENT_PROTOTYPES] ?? [])
  Object.assign(proto, { sql, sqlQuery });

export { registerFunction, type UserFunction } from './functions.js';
export { SqlSession, formatPlan, type StatementResult } from './session.js';
export type { Row } from './expressions.js';
export type { ChangeRow, RowKind } from './runtime/changelog.js';
export { readUpsertJsonLines, type ReadUpsertOptions } from './runtime/upsert-json-lines.js';
