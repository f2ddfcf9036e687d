/**
 * The job module `eddy sql FILE.sql` runs: every thread reads the same script and plans the
 * same graph (same uids), as any job module rebuilds its graph in every worker.
 */
import { defineJob } from '../api/job.js';
import { readScript, SQL_FILE_ARG, substitute } from './script.js';
import { SqlSession } from './session.js';

export default defineJob((env) => {
  const text = substitute(readScript(env.arg(SQL_FILE_ARG)), (name) => env.arg(name));
  new SqlSession(env).execute(text);
});
