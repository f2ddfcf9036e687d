/**
 * The job the shell runs for one statement: every thread rebuilds the session's catalog from
 * its DDL (--arg script), then plans the statement (--arg query). A SELECT's changelog goes to
 * the live sink (one subtask, as Flink's collect sink) that posts it to the shell's channel
 * (--arg channel); an INSERT (--arg insert=true) writes to its own sink.
 */
import { defineJob } from '../../api/job.js';
import type { DataStream } from '../../api/datastream.js';
import type { StreamExecutionEnvironment } from '../../api/environment.js';
import type { ChangeRow } from '../runtime/changelog.js';
import { liveResultSink } from './live-sink.js';

/** The SQL entry points of the environment (sqlplan's env.sql / env.sqlQuery). */
type SqlEnvironment = StreamExecutionEnvironment & {
  sql(script: string): unknown;
  sqlQuery(select: string): DataStream<ChangeRow>;
};

export default defineJob((env) => {
  const sqlEnv = env as SqlEnvironment;
  const script = env.arg('script');
  if (script.trim()) sqlEnv.sql(script);
  const statement = env.arg('query');
  if (env.arg('insert', 'false') === 'true') {
    sqlEnv.sql(statement);
    return;
  }
  sqlEnv.sqlQuery(statement).sinkTo(liveResultSink(env.arg('channel'))).uid('shell-result').setParallelism(1);
});
