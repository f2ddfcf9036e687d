/**
 * The job module `eddy sql FILE.sql` runs: every thread reads the same script and plans the
 * same graph (same uids), as any job module rebuilds its graph in every worker.
 */
import { dirname, resolve } from 'node:path';

import { defineJob } from '../api/job.js';
import { readScript, SQL_FILE_ARG, substitute } from './script.js';
import { SqlSession } from './session.js';

export default defineJob((env) => {
  const file = env.arg(SQL_FILE_ARG);
  const text = substitute(readScript(file), (name) => env.arg(name));
  new SqlSession(env, file === undefined ? undefined : dirname(resolve(file))).execute(text);
});
