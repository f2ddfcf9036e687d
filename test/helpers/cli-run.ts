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

/** Runs `eddy ARGS`; with `killAfterMs`, SIGKILLs it then (if it is still running). */
export async function runCli(args: string[], killAfterMs?: number): Promise<CliExit> {
  const { child, exit } = startCli(args);
  const timer = killAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), killAfterMs);
  const e = await exit;
  if (timer) clearTimeout(timer);
  return e;
}
