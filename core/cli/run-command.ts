/**
 * `eddy run JOB [flags]` (and `eddy sql FILE`, which runs its script as a job): runs the job in
 * this process with a progress line on stderr, reports warnings, restarts, the checkpoint
 * folder and the dashboard's address as they happen, and a summary at the end. The first
 * Ctrl-C (or SIGTERM) stops the job cleanly; a second one exits at once.
 */
import { EddyError } from '../failure.js';
import type { JobProgress, JobResult } from '../runtime/options.js';
import { parseRunArgs, runHelp } from './args.js';
import { isEddyError } from './errors.js';
import { createProgress, formatSummary, REDRAW_INTERVAL_MS } from './progress.js';

/** Runs the command; resolves with its exit code. */
export async function runCommand(argv: readonly string[]): Promise<number> {
  const parsed = parseRunArgs(argv, process.env);
  if (parsed.help) {
    process.stdout.write(`${runHelp()}\n`);
    return 0;
  }

  const progress = createProgress({ enabled: parsed.progress, stream: process.stderr });
  const controller = new AbortController();
  let stopSignal: NodeJS.Signals | undefined;

  const onSignal = (signal: NodeJS.Signals): void => {
    progress.clear();
    if (stopSignal !== undefined) {
      // Second signal: the user does not want to wait for a clean stop.
      process.stderr.write(`eddy: ${signal} again, exiting without waiting for the job to stop\n`);
      process.exit(signal === 'SIGINT' ? 130 : 143);
    }
    stopSignal = signal;
    process.stderr.write(
      `eddy: ${signal} received, stopping the job${signal === 'SIGINT' ? ' (press Ctrl-C again to exit at once)' : ''}\n`,
    );
    controller.abort(new EddyError('CANCELLED', `job cancelled by ${signal}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    // Loaded only for `run`, so that --help and usage errors answer at once; 'eddy''s runJob
    // also loads SQL for the job's build (core/index.ts).
    const { runJob } = await import('../index.js');
    let result: JobResult;
    try {
      result = await runJob(
        parsed.jobPath,
        {
          ...parsed.options,
          onProgress: (p: JobProgress) => progress.update(p),
          onWarning: (m: string) => {
            progress.clear();
            process.stderr.write(`eddy: warning: ${m}\n`);
          },
          onWebUi: (url: string) => {
            progress.clear();
            process.stderr.write(`eddy: dashboard at ${url} (REST under /jobs, Prometheus at ${url}metrics)\n`);
          },
          onFailure: (line: string) => {
            progress.clear();
            process.stderr.write(`eddy: ${line}\n`);
          },
          onStart: ({ checkpointDir, restoredFrom }) => {
            progress.clear();
            if (restoredFrom)
              process.stderr.write(`eddy: restored checkpoint ${restoredFrom.checkpointId} from ${restoredFrom.checkpointDir}\n`);
            process.stderr.write(
              `eddy: checkpoints in ${checkpointDir} (eddy savepoint ${checkpointDir} · eddy stop --with-savepoint ${checkpointDir})\n`,
            );
          },
          // The snapshot is also kept for a summary when a cancelled job ends without a result.
          progressIntervalMs: parsed.progress && process.stderr.isTTY ? REDRAW_INTERVAL_MS : 1000,
        },
        { signal: controller.signal },
      );
    } catch (err) {
      progress.stop();
      if (stopSignal !== undefined && isEddyError(err) && err.code === 'CANCELLED') {
        // A clean stop that the runtime reports as a cancellation: summarize what we saw.
        const last = progress.last;
        process.stderr.write(`${formatSummary({ durationMs: last?.elapsedMs ?? 0, operators: last?.operators ?? [] }, 'cancelled')}\n`);
        return 0;
      }
      throw err;
    }
    progress.stop();
    process.stderr.write(
      `${formatSummary(result, result.stoppedWithSavepoint ? 'stopped' : result.cancelled || stopSignal !== undefined ? 'cancelled' : 'finished')}\n`,
    );
    return 0;
  } finally {
    progress.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
