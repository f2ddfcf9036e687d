/**
 * The commands that act on checkpoints and on a running job:
 *
 *   eddy savepoint DIR [--target PATH]                    savepoint of the job checkpointing to DIR
 *   eddy stop DIR [--with-savepoint] [--target PATH]      stop it (after a savepoint, sinks committed)
 *   eddy checkpoints DIR [--json]                         list checkpoints and savepoints in DIR
 *
 * DIR is the running job's --checkpoint-dir: the job publishes its control endpoint there.
 */
import { parseArgs } from 'node:util';
import { inspectCheckpoints, type SnapshotInfo } from '../checkpoint/inspect.js';
import { sendControl } from '../control/control-client.js';
import { EddyError } from '../failure.js';

/** A savepoint waits for a checkpoint in flight and writes all state: allow it time. */
const SAVEPOINT_TIMEOUT_MS = 10 * 60_000;

const USAGE: Record<string, string> = {
  savepoint: 'eddy savepoint DIR_OF_RUNNING_JOB [--target PATH]',
  stop: 'eddy stop DIR_OF_RUNNING_JOB [--with-savepoint] [--target PATH]',
  checkpoints: 'eddy checkpoints DIR [--json]',
};

export function snapshotHelp(command: string): string {
  const lines: Record<string, string[]> = {
    savepoint: [
      'Takes a savepoint of the job running with --checkpoint-dir DIR and prints its path.',
      'The savepoint is full and self-contained; eddy never deletes it.',
      '  --target PATH   where the savepoint directory is made (default DIR/savepoints)',
    ],
    stop: [
      'Stops the job running with --checkpoint-dir DIR. With --with-savepoint it first takes a',
      'savepoint (sources stop at its barrier, sinks commit) and prints its path; resume with',
      'eddy run JOB --from-savepoint PATH. Without it, the job is cancelled (as by Ctrl-C).',
      '  --with-savepoint   take a savepoint, then stop',
      '  --target PATH      where the savepoint directory is made (default DIR/savepoints)',
    ],
    checkpoints: [
      'Lists the checkpoints and savepoints in DIR: id, kind, time, duration, size per operator,',
      'and whether each is complete and intact (every file checked against its checksum).',
      '  --json   machine-readable output',
    ],
  };
  return [`usage: ${USAGE[command]}`, '', ...lines[command]].join('\n');
}

function parse(command: string, argv: readonly string[], options: Record<string, { type: 'string' | 'boolean' }>) {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    const msg = (err as Error).message.split('\n')[0];
    throw new EddyError('BAD_FLAG', `${msg}; usage: ${USAGE[command]}`);
  }
  if (parsed.values.help) return { help: true as const };
  if (parsed.positionals.length !== 1) {
    throw new EddyError(
      'BAD_FLAG',
      `expected one directory, got ${parsed.positionals.length === 0 ? 'none' : parsed.positionals.join(' ')}; usage: ${USAGE[command]}`,
    );
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  const target = values.target;
  if (target !== undefined && (typeof target !== 'string' || target.trim() === ''))
    throw new EddyError('BAD_FLAG', `--target expects a path; usage: ${USAGE[command]}`);
  return { help: false as const, dir: parsed.positionals[0]!, values };
}

export async function savepointCommand(argv: readonly string[], out: NodeJS.WritableStream): Promise<number> {
  const p = parse('savepoint', argv, { target: { type: 'string' } });
  if (p.help) return (out.write(`${snapshotHelp('savepoint')}\n`), 0);
  const r = await sendControl(p.dir, { command: 'savepoint', target: p.values.target as string | undefined }, SAVEPOINT_TIMEOUT_MS);
  out.write(`${r.path}\n`);
  return 0;
}

export async function stopCommand(argv: readonly string[], out: NodeJS.WritableStream): Promise<number> {
  const p = parse('stop', argv, { target: { type: 'string' }, 'with-savepoint': { type: 'boolean' } });
  if (p.help) return (out.write(`${snapshotHelp('stop')}\n`), 0);
  const withSavepoint = p.values['with-savepoint'] === true;
  if (!withSavepoint && p.values.target !== undefined)
    throw new EddyError('BAD_FLAG', `--target needs --with-savepoint; usage: ${USAGE.stop}`);
  const r = await sendControl(
    p.dir,
    { command: 'stop', withSavepoint, target: p.values.target as string | undefined },
    SAVEPOINT_TIMEOUT_MS,
  );
  if (r.path) out.write(`${r.path}\n`);
  return 0;
}

function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

export function formatSnapshots(list: SnapshotInfo[]): string {
  if (list.length === 0) return 'no checkpoints or savepoints';
  const rows = [['ID', 'KIND', 'STATUS', 'TIME', 'DURATION', 'SIZE', 'PATH']];
  for (const s of list) {
    rows.push([
      s.id === undefined ? '?' : String(s.id),
      s.kind,
      s.status,
      s.timestamp !== undefined ? new Date(s.timestamp).toISOString() : '-',
      s.durationMs !== undefined ? `${s.durationMs} ms${s.unaligned ? ` unaligned, ${size(s.inFlightBytes ?? 0)} in flight` : ''}` : '-',
      s.status === 'intact' ? size(s.bytes) : '-',
      s.path,
    ]);
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const lines: string[] = [];
  rows.forEach((r, i) => {
    lines.push(r.map((v, c) => (c === r.length - 1 ? v : v.padEnd(widths[c]))).join('  '));
    const s = list[i - 1];
    if (!s) return;
    if (s.problem) lines.push(`    ${s.status}: ${s.problem}`);
    if (s.finished) lines.push('    finished: the final checkpoint of a bounded job, without keyed state');
    for (const op of s.operators) lines.push(`    ${op.uid}  p=${op.parallelism}  ${size(op.bytes)}`);
  });
  return lines.join('\n');
}

export async function checkpointsCommand(argv: readonly string[], out: NodeJS.WritableStream): Promise<number> {
  const p = parse('checkpoints', argv, { json: { type: 'boolean' } });
  if (p.help) return (out.write(`${snapshotHelp('checkpoints')}\n`), 0);
  const list = await inspectCheckpoints(p.dir);
  out.write(p.values.json ? `${JSON.stringify(list, null, 2)}\n` : `${formatSnapshots(list)}\n`);
  // Damage is worth a non-zero exit, so scripts notice.
  return list.some((s) => s.status === 'corrupt') ? 1 : 0;
}
