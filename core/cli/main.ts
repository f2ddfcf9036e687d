#!/usr/bin/env node
/**
 * The `eddy` command.
 *
 *   eddy run JOB [flags]      run a job module (see `eddy run --help`)
 *   eddy savepoint | stop | checkpoints DIR    act on a running job / list its checkpoints
 *   eddy bench [flags]        the benchmark suite
 *   eddy --help | help        usage
 *   eddy --version            version
 *
 * Exit codes: 0 success (also a job cancelled by Ctrl-C / SIGTERM that stopped cleanly),
 * 1 the job failed (or an unexpected error), 2 a usage error (bad flag or argument, unknown
 * or unavailable command), 130 a second Ctrl-C while stopping.
 *
 * Errors are one line on stderr: `eddy: [CODE] message`. Set EDDY_DEBUG=1 to also get the stack.
 */

import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { closest, runHelp } from './args.js';
import { report } from './errors.js';
import { runCommand } from './run-command.js';

// Each command's module is imported when that command runs: `eddy run` (most processes, and
// every one a test starts) needs none of the dashboard server and prom-client (ui), the SQL
// script checks (sql) or the checkpoint inspector (savepoint, stop, checkpoints), about 0.1 s
// of CPU at every start together.
const snapshotCommands = () => import('./snapshot-commands.js');
const sqlCommand = () => import('./sql-command.js');
const uiCommand = () => import('./ui-command.js');

/** The commands that act on a job through its checkpoint folder (each has its own help). */
const SNAPSHOT_COMMANDS = ['savepoint', 'stop', 'checkpoints'] as const;
const COMMANDS = ['run', 'sql', 'bench', 'ui', 'help', ...SNAPSHOT_COMMANDS];

function mainHelp(): string {
  return [
    'eddy — stateful stream processing for Node.js',
    '',
    'usage:',
    '  eddy run JOB [flags]                  run a job module (eddy run --help for the flags)',
    '  eddy sql FILE.sql [flags]             run a SQL script (eddy sql --help)',
    '  eddy sql [flags]                      the interactive SQL shell (live result tables)',
    '  eddy savepoint DIR_OF_RUNNING_JOB     take a savepoint of the job checkpointing to DIR',
    '  eddy stop --with-savepoint DIR        stop that job after a savepoint (sinks committed)',
    '  eddy checkpoints DIR                  list checkpoints and savepoints, checked for damage',
    '  eddy bench [--quick] [--suite NAME]   run the benchmark suite (eddy bench --help)',
    "  eddy ui DIR [--port N]                the dashboard over a finished job's record in DIR",
    '  eddy --help | help [COMMAND]          this help, or the help of COMMAND',
    '  eddy --version                        print the version',
    '',
    'example:',
    '  eddy run examples/wordcount.ts --parallelism 2 --arg input=examples/data/words.txt --arg output=out/wordcount',
  ].join('\n');
}

function version(): string {
  // dist/core/cli/main.js → package.json at the package root (three levels up).
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: string };
  return pkg.version ?? 'unknown';
}

/** The suite lives in bench/ (a source checkout, not the published package): run it as its own process. */
async function bench(argv: readonly string[]): Promise<number> {
  const entry = fileURLToPath(new URL('../../bench/index.js', import.meta.url));
  if (!existsSync(entry)) {
    process.stderr.write(
      `eddy: [UNSUPPORTED] the benchmark suite is not in this installation (${entry} is missing); run it from a source checkout after npm run build\n`,
    );
    return 2;
  }
  const child = spawn(process.execPath, [entry, ...argv], { stdio: 'inherit' });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal ? 130 : 1))));
}

async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'run':
        return await runCommand(rest);
      case 'sql': {
        if (rest[0] === '--help' || rest[0] === '-h') {
          process.stdout.write(`${(await sqlCommand()).sqlHelp()}\n`);
          return 0;
        }
        // Without a file (nothing, or only run flags): the interactive shell.
        if (rest[0] === undefined || rest[0].startsWith('-')) return await (await import('./sql-shell.js')).sqlShellCommand(rest);
        const runArgv = (await sqlCommand()).prepareSqlRun(rest, process.stdout);
        return runArgv === undefined ? 0 : await runCommand(runArgv);
      }
      case 'savepoint':
        return await (await snapshotCommands()).savepointCommand(rest, process.stdout);
      case 'stop':
        return await (await snapshotCommands()).stopCommand(rest, process.stdout);
      case 'checkpoints':
        return await (await snapshotCommands()).checkpointsCommand(rest, process.stdout);
      case 'bench':
        return await bench(rest);
      case 'ui':
        return await (await uiCommand()).uiCommand(rest, process.stdout);
      case undefined:
        process.stderr.write(`${mainHelp()}\n`);
        return 2;
      case '-h':
      case '--help':
      case 'help':
        if (command === 'help' && rest[0] === 'run') process.stdout.write(`${runHelp()}\n`);
        else if (command === 'help' && rest[0] === 'sql') process.stdout.write(`${(await sqlCommand()).sqlHelp()}\n`);
        else if (command === 'help' && rest[0] === 'ui') process.stdout.write(`${(await uiCommand()).uiHelp()}\n`);
        else if (command === 'help' && (SNAPSHOT_COMMANDS as readonly string[]).includes(rest[0] ?? ''))
          process.stdout.write(`${(await snapshotCommands()).snapshotHelp(rest[0]!)}\n`);
        else process.stdout.write(`${mainHelp()}\n`);
        return 0;
      case '-v':
      case '--version':
      case 'version':
        process.stdout.write(`${version()}\n`);
        return 0;
      default: {
        const hint = command.startsWith('-') ? undefined : closest(command, COMMANDS);
        const what = command.startsWith('-')
          ? `unknown flag ${command} (flags go after the command, e.g. eddy run JOB ${command})`
          : `unknown command '${command}'${hint ? ` (did you mean '${hint}'?)` : ''}`;
        process.stderr.write(`eddy: [BAD_FLAG] ${what}; see eddy --help\n`);
        return 2;
      }
    }
  } catch (err) {
    return report(err);
  }
}

/**
 * Exit once stdout/stderr have drained: normally the event loop empties by itself; if a
 * stray handle (a worker pool that was not closed) keeps it alive, exit anyway shortly after.
 */
function finish(code: number): void {
  process.exitCode = code;
  setTimeout(() => process.exit(code), 1000).unref();
}

process.setSourceMapsEnabled(true);
main(process.argv.slice(2)).then(finish, (err: unknown) => finish(report(err)));
