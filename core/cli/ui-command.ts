/**
 * `eddy ui DIR [--port N]`: serves a finished job's record (the `_job-record.json` its run
 * left in its checkpoint directory) with the same page as the live dashboard, until Ctrl-C.
 */
import { resolve } from 'node:path';
import { EddyError } from '../failure.js';
import { readArchive } from '../observe/archive.js';
import { startDashboard } from '../observe/dashboard.js';
import { parseLoopbackHost, parsePort } from '../runtime/option-values.js';

export function uiHelp(): string {
  return [
    'usage: eddy ui DIR [--port N] [--host 127.0.0.1|::1|localhost]',
    '',
    "  serves the dashboard over a finished job's record: the final overview, graph, checkpoint",
    '  history and exceptions that a run with --checkpoint-dir DIR wrote to DIR/_job-record.json.',
    '  --port N   listen on 127.0.0.1:N (default 0: a free port; the URL is printed)',
  ].join('\n');
}

export async function uiCommand(argv: readonly string[], out: NodeJS.WritableStream): Promise<number> {
  let dir: string | undefined;
  let port = 0;
  let host = '127.0.0.1';
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') {
      out.write(`${uiHelp()}\n`);
      return 0;
    }
    if (a === '--port' || a === '--host') {
      const v = argv[++i];
      if (v === undefined) throw new EddyError('BAD_FLAG', `${a} expects a value; see eddy ui --help`);
      if (a === '--port') port = parsePort('--port', v);
      else host = parseLoopbackHost('--host', v);
    } else if (a.startsWith('-')) throw new EddyError('BAD_FLAG', `unknown flag ${a} for eddy ui; see eddy ui --help`);
    else if (dir === undefined) dir = a;
    else throw new EddyError('BAD_ARG', `eddy ui takes one directory, got '${dir}' and '${a}'`);
  }
  if (dir === undefined) throw new EddyError('BAD_ARG', 'eddy ui needs the checkpoint directory of a finished job: eddy ui DIR');
  const archive = await readArchive(resolve(dir));
  const dashboard = await startDashboard({ port, host, archive });
  out.write(`eddy: job ${archive.job.name} (${archive.job.state}) at ${dashboard.url} (Ctrl-C to stop)\n`);
  await new Promise<void>((done) => {
    process.once('SIGINT', () => done());
    process.once('SIGTERM', () => done());
  });
  await dashboard.close();
  return 0;
}
