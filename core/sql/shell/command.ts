/**
 * `eddy sql [run flags]` without a file: the interactive shell on this terminal, its queries
 * run with the given run flags (--parallelism, --mode, …).
 */
import { fileURLToPath } from 'node:url';
import { parseRunArgs } from '../../cli/args.js';
import { SessionCatalog } from './session-catalog.js';
import { runShell } from './shell.js';

export async function sqlShellCommand(flags: readonly string[]): Promise<number> {
  const queryJob = fileURLToPath(new URL('./query-job.js', import.meta.url));
  const parsed = parseRunArgs([queryJob, ...flags], process.env);
  const runOptions = parsed.help ? {} : parsed.options;
  return runShell({ input: process.stdin, output: process.stdout, runOptions, catalog: new SessionCatalog() });
}
