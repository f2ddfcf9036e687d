/**
 * `eddy sql FILE.sql [run flags]`: checks the whole script in this process first (a syntax or
 * planning error is one line before any worker starts), prints the plans of its EXPLAIN
 * statements, then runs its INSERT and SELECT statements as one job (the module
 * core/sql/sql-job.ts, which every worker loads to plan the same graph).
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { StreamExecutionEnvironment } from '../api/environment.js';
import { EddyError } from '../failure.js';
import { readScript, SQL_FILE_ARG, substitute } from '../sql/script.js';
import { SqlSession } from '../sql/session.js';
import { parseRunArgs } from './args.js';

/** The help of `eddy sql`. */
export function sqlHelp(): string {
  return [
    'usage: eddy sql FILE.sql [run flags]',
    '',
    'Runs the statements of FILE.sql (CREATE TABLE, CREATE VIEW, INSERT INTO … SELECT, SELECT,',
    'EXPLAIN, SET) as one job. ${NAME} in the file is replaced by --arg NAME=VALUE. The run flags',
    'are those of eddy run (eddy run --help): --parallelism, --mode, --checkpoint-interval, …',
  ].join('\n');
}

/**
 * Checks the script and prints its EXPLAIN plans; returns the argv for `eddy run` of the SQL
 * job module, or undefined when the script has nothing to run.
 */
export function prepareSqlRun(argv: readonly string[], out: NodeJS.WritableStream): string[] | undefined {
  const [file, ...flags] = argv;
  if (file === undefined || file.startsWith('-'))
    throw new EddyError('BAD_FLAG', 'missing FILE.sql: eddy sql FILE.sql [run flags]; see eddy sql --help');
  const abs = resolve(file);
  const jobModule = fileURLToPath(new URL('../sql/sql-job.js', import.meta.url));
  const runArgv = [jobModule, ...flags, '--arg', `${SQL_FILE_ARG}=${abs}`];
  const parsed = parseRunArgs(runArgv, process.env);
  if (parsed.help) return runArgv;
  const args = parsed.options.args ?? {};
  const env = new StreamExecutionEnvironment(args);
  const text = substitute(readScript(abs), (name) => env.arg(name));
  const results = new SqlSession(env).execute(text);
  for (const r of results) if (r.kind === 'explain') out.write(`${r.plan}\n`);
  return results.some((r) => r.kind === 'pipeline') ? runArgv : undefined;
}
