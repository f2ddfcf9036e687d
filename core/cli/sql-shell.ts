/**
 * `eddy sql [run flags]` without a file: the interactive shell on this terminal, its queries
 * run with the given run flags (--parallelism, --mode, …).
 */
import { fileURLToPath } from 'node:url';
import { parseRunArgs } from './args.js';
import { SessionCatalog } from '../sql/shell/session-catalog.js';
import { runShell } from '../sql/shell/shell.js';

export async function sqlShellCommand(flags: readonly string[]): Promise<number> {
  const queryJob = fileURLToPath(new URL('../sql/shell/query-job.js', import.meta.url));
  const parsed = parseRunArgs([queryJob, ...flags], process.env);
  const runOptions = parsed.help ? {} : parsed.options;
  return runShell({ input: process.stdin, output: process.stdout, runOptions, catalog: new SessionCatalog() });
}
