// Runs the compiled eddy CLI as a child process, optionally SIGKILLing it after a delay.
import { spawn, type ChildProcess } from 'node:child_process';
import { cliPath, repoRoot } from './paths.js';

export interface CliExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

/** Starts `eddy ARGS`; `exit` resolves when it has ended. */
export function startCli(args: string[]): { child: ChildProcess; exit: Promise<CliExit> } {
  const child = spawn(process.execPath, [cliPath, ...args], { cwd: repoRoot, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exit = new Promise<CliExit>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, stderr })));
  return { child, exit };
}

/**
 * Runs `eddy ARGS`; with `killAfterMs`, SIGKILLs it that long after `armed` resolves (when
 * given, e.g. once the run's first checkpoint exists, so the kill lands in a running job), if it
 * is still running.
 */
export async function runCli(args: string[], killAfterMs?: number, armed?: () => Promise<void>): Promise<CliExit> {
  const { child, exit } = startCli(args);
  let exited = false;
  let timer: NodeJS.Timeout | undefined;
  if (killAfterMs !== undefined) {
    void (armed ? armed() : Promise.resolve()).then(() => {
      if (!exited) timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    });
  }
  const e = await exit;
  exited = true;
  if (timer) clearTimeout(timer);
  return e;
}

/**
 * Starts `eddy ARGS` and resolves once it has said where its checkpoints go, when it is
 * reachable by `eddy savepoint` and `eddy stop` (or when it has ended before that).
 */
export async function startReachableCli(args: string[]): Promise<{ child: ChildProcess; exit: Promise<CliExit> }> {
  const started = startCli(args);
  let seen = '';
  await Promise.race([
    started.exit,
    new Promise<void>((resolve) =>
      started.child.stderr!.on('data', (d: Buffer) => {
        seen += d.toString();
        if (seen.includes('eddy: checkpoints in')) resolve();
      }),
    ),
  ]);
  return started;
}

/** `--arg name=value` for each entry, in order: a job's arguments on an `eddy run` command line. */
export function jobArgs(args: Record<string, string | number>): string[] {
  return Object.entries(args).flatMap(([name, value]) => ['--arg', `${name}=${value}`]);
}
