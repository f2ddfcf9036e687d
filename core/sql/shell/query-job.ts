/**
 * The job the shell runs for one statement: every thread rebuilds the session's catalog from
 * its DDL (--arg script), then plans the statement (--arg query). A SELECT's result, as
 * changes with rows keyed by the result's column names, goes to the live sink (one subtask,
 * as Flink's collect sink) that posts it to the shell's channel (--arg channel); an INSERT
 * (--arg insert=true) writes to its own table's sink.
 */
import { defineJob } from '../../api/job.js';
import type { DataStream } from '../../api/datastream.js';
import { parseQuery } from '../parser.js';
import type { ChangeRow, Row } from '../runtime/changelog.js';
import { SqlSession } from '../session.js';
import { liveResultSink } from './live-sink.js';

export default defineJob((env) => {
  const session = new SqlSession(env);
  session.execute(env.arg('script'));
  const statement = env.arg('query');
  if (env.arg('insert', 'false') === 'true') {
    session.execute(statement);
    return;
  }
  const rel = session.query(parseQuery(statement), 'shell');
  const names = rel.fields.map((f) => f.name);
  const keys = rel.fields.map((f) => f.key);
  const shape = (r: Row): Row => {
    const o: Row = {};
    for (let i = 0; i < names.length; i++) o[names[i]!] = r[keys[i]!];
    return o;
  };
  const changes: DataStream<ChangeRow> = rel.updating
    ? (rel.stream as DataStream<ChangeRow>).map((c) => ({ kind: c.kind, row: shape(c.row) })).uid('shell-rows')
    : (rel.stream as DataStream<Row>).map((r): ChangeRow => ({ kind: '+I', row: shape(r) })).uid('shell-rows');
  changes
    .sinkTo(liveResultSink(env.arg('channel')))
    .uid('shell-result')
    .setParallelism(1);
});
