// Stop-with-savepoint part-way through a bounded input, for tests that restore the savepoint and
// need the rest of the input still to come. On a loaded machine a rate-limited input can end
// before the stop arrives (a job's threads start late), or the stop can meet a restart; both
// are the machine's timing, not the engine's behaviour under test, so the job is run again at
// the next slower rate, and a stop that meets a restart is sent again. A job still running when
// a check fails is cancelled and awaited, so the caller's cleanup never deletes the folders of
// a running job (which would leave it restarting and the test process alive).
//
// A stop the job answers with "nothing is left to save" (already finishing, or the end of its
// input reached before the savepoint) counts as an input that ended first, and so does a stop
// that finds no job at the folder (its control file gone) when the job then ends: it had
// finished its input and was closing.
import assert from 'node:assert/strict';
import type { JobResult } from '../../core/index.js';
import { sendControl } from '../../core/control/control-client.js';
import { until } from './wait.js';

/** One attempt: the running job, its checkpoint folder, and when it is far enough to stop. */
export interface PartWayRun {
  job: Promise<JobResult>;
  checkpointDir: string;
  ready: () => boolean;
  /**
   * Whether the stopped run left enough input for what follows (the caller's restores): a stop
   * that lands late (the first checkpoint completing near the input's end on a loaded machine)
   * counts as an input that ended first. Any stop is enough when not given.
   */
  leftEnough?: (result: JobResult) => boolean;
}

export interface StoppedPartWay {
  savepoint: string;
  result: JobResult;
  /** The rate the stopped run used (the caller's output folders of that attempt hold its output). */
  rate: number;
  attempt: number;
}

/**
 * Runs `start(rate, attempt, signal)` at each rate in turn until a stop-with-savepoint lands
 * while the job is still running, after `ready()`; each attempt must use fresh folders.
 */
export async function stopWithSavepointPartWay(
  rates: readonly number[],
  start: (rate: number, attempt: number, signal: AbortSignal) => PartWayRun,
): Promise<StoppedPartWay> {
  // How each run ended, for the failure when all did first.
  const endings: string[] = [];
  for (let attempt = 0; attempt < rates.length; attempt++) {
    const rate = rates[attempt]!;
    const cancel = new AbortController();
    const run = start(rate, attempt, cancel.signal);
    let settled = false;
    const ended = run.job.then(
      () => (settled = true),
      () => (settled = true),
    );
    try {
      await until('the job far enough to stop, or ended', () => settled || run.ready(), 120_000);
      const wasReady = run.ready();
      const savepoint = settled ? undefined : await stopOnce(run.checkpointDir, () => settled, ended);
      // The input ended before the stop (or too near it): again, slower.
      const r = await run.job;
      if (savepoint !== undefined && (run.leftEnough?.(r) ?? true)) return { savepoint, result: r, rate, attempt };
      const how = savepoint !== undefined ? 'stopped too late' : wasReady ? 'ready, then ended' : 'ended before ready';
      endings.push(`${rate}/s: ${how} (${r.checkpointsCompleted} checkpoints, ${r.restarts} restarts, ${r.durationMs.toFixed(0)} ms)`);
    } catch (err) {
      cancel.abort();
      await ended;
      throw err;
    }
  }
  assert.fail(`every run ended before its stop-with-savepoint: ${endings.join('; ')}`);
}

/** How long a job whose control file is gone may take to end before that counts as a failure. */
const CLOSING_MS = 60_000;

/** The savepoint's path, or undefined if the job was already finishing its input. */
async function stopOnce(checkpointDir: string, ended: () => boolean, ending: Promise<unknown>): Promise<string | undefined> {
  for (;;) {
    try {
      const answer = await sendControl(checkpointDir, { command: 'stop', withSavepoint: true }, 60_000);
      return answer.path!;
    } catch (err) {
      const message = (err as Error).message;
      if (/nothing is left to save/.test(message) || ended()) return undefined;
      if ((err as { code?: string }).code === 'JOB_NOT_RUNNING') {
        await Promise.race([ending, new Promise((r) => setTimeout(r, CLOSING_MS).unref())]);
        if (ended()) return undefined;
        throw err;
      }
      if (!/restarting/.test(message)) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
