/**
 * runJob: load and plan the job on the main thread, lay it out on shared memory, run attempts
 * in the slot pool until one ends the job, and turn that into a result or an EddyError.
 *
 * Failover is global: any task failure cancels every task of the attempt (attempt.ts); the
 * restart strategy decides whether another attempt runs, restored from the latest completed
 * checkpoint (sources rewind to its offsets, sinks re-commit its sealed transactions and
 * drop everything after it).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { CheckpointStats } from '../checkpoint/coordinator.js';
import type { CheckpointDeclineCode } from '../checkpoint/decline.js';
import { defaultSavepointRoot } from '../checkpoint/savepoint.js';
import { CheckpointStorage } from '../checkpoint/storage.js';
import { startControlServer, type ControlServer } from '../control/control-server.js';
import { EddyError, type Failure } from '../failure.js';
import type { Dashboard } from '../observe/dashboard.js';
import { FailureHistory } from '../observe/failure-history.js';
import { JobRecord } from '../observe/job-record.js';
import { Attempt } from './attempt.js';
import { CollectedRecords } from './collected-records.js';
import { controlHandlers, type LiveJob } from './control-handlers.js';
import { deploy } from './deployment.js';
import { ensureDirectory } from './directories.js';
import { readEnvOverrides } from './env-overrides.js';
import { planJob } from './job-plan.js';
import { readMetrics, startProgress } from './job-progress.js';
import { initialRestore, restoreSpecOf } from './restore.js';
import type { RestoreSpec } from './messages.js';
import { loadJob } from './module-loader.js';
import { parseRestartSpec } from './option-values.js';
import type { JobResult, RunOptions } from './options.js';
import { SlotPool } from './pool.js';
import { createRestartStrategy } from './restart-strategy.js';

const RETAINED_CHECKPOINTS = 3;

/**
 * Runs the job module at `jobPath` (a file whose default export is `defineJob(...)`) in this
 * process, as `eddy run` does: `options` are the CLI's flags (parallelism, checkpointing,
 * restart strategy, job args …) over EDDY_* variables; `opts.signal` cancels the job.
 * Resolves with the result when the job ends; rejects with an EddyError (code and one line)
 * when it fails beyond its restart strategy or cannot start.
 */
export async function runJob(jobPath: string, options: RunOptions = {}, opts: { signal?: AbortSignal } = {}): Promise<JobResult> {
  const started = performance.now();
  const overrides: RunOptions = { ...readEnvOverrides(process.env), ...definedOnly(options) };
  const args = overrides.args ?? {};
  const def = await loadJob(jobPath);
  const plan = planJob(def, args, overrides);
  for (const n of plan.graph.nodes) {
    // Checks such as "the input file exists" fail here, before any thread starts.
    await n.source?.validate?.();
    await n.sink?.validate?.();
  }
  const warn = (m: string) => options.onWarning?.(m);
  const checkpointing = plan.settings.mode !== 'none';
  // What this run starts from, verified file by file before any thread starts.
  const initial = await initialRestore(plan, overrides, warn);
  const ownDir = checkpointing && overrides.checkpointDir === undefined;
  const checkpointDir = checkpointing ? (overrides.checkpointDir !== undefined ? ensureDirectory(overrides.checkpointDir, '--checkpoint-dir') : mkdtempSync(join(tmpdir(), 'eddy-checkpoints-'))) : undefined;
  // LMDB environments live here while the job runs; the folder goes when the job ends.
  const localDir =
    plan.settings.stateBackend === 'lmdb'
      ? mkdtempSync(join(overrides.localDir !== undefined ? ensureDirectory(overrides.localDir, '--local-dir') : tmpdir(), 'eddy-local-'))
      : undefined;
  const restart = createRestartStrategy(parseRestartSpec('--restart', overrides.restart ?? (checkpointing ? 'exponential' : 'none')));
  const collector = new CollectedRecords();
  let deployment = deploy(plan, jobPath, args);
  const pool = new SlotPool(deployment.tasks.length);
  let progress = startProgress(plan, deployment, options, started);
  const record = new JobRecord(plan, resolve(jobPath));
  let restarts = 0;
  const failures: Failure[] = [];
  const history = new FailureHistory();
  const checkpoints: CheckpointStats[] = [];
  let checkpointsCompleted = 0;
  let checkpointsFailed = 0;
  const checkpointsFailedByReason: Partial<Record<CheckpointDeclineCode, number>> = {};
  let restore: RestoreSpec | undefined = initial;
  let finished = false;
  // Ctrl-C (the caller's signal), `eddy stop` and the dashboard's stop all cancel the job.
  const stopper = new AbortController();
  const signal = opts.signal ? AbortSignal.any([opts.signal, stopper.signal]) : stopper.signal;
  const live: LiveJob = { job: resolve(jobPath), attempt: 0, coordinator: undefined, savepoints: [] };
  let control: ControlServer | undefined;
  let dashboard: Dashboard | undefined;
  let resolveEnded!: () => void;
  const ended = new Promise<void>((r) => (resolveEnded = r));
  const restoredFrom = initial ? { checkpointDir: initial.checkpointDir, checkpointId: initial.checkpointId } : undefined;
  const result = (cancelled: boolean): JobResult => ({
    durationMs: performance.now() - started,
    operators: collector.parseCounts.attach(readMetrics(plan, deployment)),
    collected: collector.byUid,
    checkpointsCompleted,
    checkpointsFailed,
    checkpointsFailedByReason,
    checkpoints,
    restarts,
    failures,
    exceptions: history.entries,
    cancelled,
    savepoints: live.savepoints,
    stoppedWithSavepoint: live.stopSavepoint,
    restoredFrom,
    stateRestores: collector.restores,
  });
  try {
    const handlers = checkpointDir
      ? controlHandlers(live, checkpointDir, stopper, ended, () => ({ restarts, checkpointsCompleted: checkpointsCompleted + (live.coordinator?.completed ?? 0) }))
      : undefined;
    if (checkpointDir && handlers) {
      control = await startControlServer(checkpointDir, jobPath, handlers);
      options.onStart?.({ checkpointDir, restoredFrom });
    }
    if (overrides.webUi !== undefined) {
      // Loaded only when asked for: prom-client and the server cost every other job start-up time.
      const { startDashboard } = await import('../observe/dashboard.js');
      dashboard = await startDashboard({ port: overrides.webUi, host: overrides.webUiHost, record, control: control && handlers ? { token: control.token, handlers } : undefined });
      options.onWebUi?.(dashboard.url);
    }
    for (let attempt = 0; ; attempt++) {
      live.attempt = attempt;
      const end = await new Attempt({
        plan,
        deployment,
        pool,
        attempt,
        collector,
        signal,
        checkpointDir,
        restore,
        retained: overrides.retainedCheckpoints ?? RETAINED_CHECKPOINTS,
        localDir,
        warn,
        events: record,
        onCoordinator: (c) => (live.coordinator = c),
      }).run();
      checkpointsCompleted += end.checkpointsCompleted;
      checkpointsFailed += end.checkpointsFailed;
      for (const [code, n] of Object.entries(end.checkpointsFailedByReason) as [CheckpointDeclineCode, number][]) checkpointsFailedByReason[code] = (checkpointsFailedByReason[code] ?? 0) + n;
      checkpoints.push(...end.checkpoints);
      if (!end.failure || end.cancelled) {
        finished = !end.failure && !end.cancelled;
        record.finish(finished ? 'FINISHED' : end.cancelled ? 'CANCELED' : 'FAILED');
        if (end.failure) throw EddyError.fromFailure(end.failure);
        return result(end.cancelled);
      }
      failures.push(end.failure);
      const line = history.add(end.failure, attempt + 1, Date.now());
      record.failed(history.entries[history.entries.length - 1]!);
      const decision = restart.onFailure(Date.now());
      // A job that fails once without restarting gets only its error line; the history line
      // belongs to a sequence of restarts.
      if (decision.restart || restarts > 0) options.onFailure?.(decision.restart ? `${line}; restarting in ${decision.delayMs} ms (--restart ${restart.description})` : `${line}; not restarting (${decision.reason})`);
      if (!decision.restart) {
        record.finish('FAILED');
        const f = end.failure;
        throw EddyError.fromFailure(restarts > 0 ? { ...f, message: `${f.message} (${decision.reason})` } : f);
      }
      restarts++;
      record.restarting();
      await sleep(decision.delayMs, signal);
      if (signal.aborted) {
        record.finish('CANCELED');
        return result(true);
      }
      // The newest checkpoint of this run; before its first one, where the run started from
      // (never an older run's checkpoint that happens to lie in the same directory).
      if (checkpointDir && checkpointsCompleted > 0) {
        const latest = await new CheckpointStorage(checkpointDir).latest();
        restore = latest ? restoreSpecOf(checkpointDir, latest.id, latest.metadata, plan) : initial;
      } else restore = initial;
      // Fresh rings and counters: nothing of the failed attempt may leak into the next.
      progress?.stop();
      deployment = deploy(plan, jobPath, args);
      progress = startProgress(plan, deployment, options, started);
    }
  } finally {
    resolveEnded();
    progress?.stop();
    record.finish('FAILED'); // no-op when the state is already final
    await dashboard?.close();
    await control?.close();
    await pool.destroy();
    // A temporary directory stays only when it holds something to resume from: a savepoint, or
    // a checkpoint of a job that did not finish (then the job's record stays too, for eddy ui).
    // A failed or cancelled job that completed no checkpoint leaves nothing worth keeping.
    const removeDir = ownDir && checkpointDir !== undefined && !existsSync(defaultSavepointRoot(checkpointDir)) && (finished || !(await holdsCheckpoint(checkpointDir)));
    if (checkpointDir && !removeDir) {
      await record.archive(checkpointDir).catch((err) => warn(`could not write the job record into ${checkpointDir}: ${err instanceof Error ? err.message : String(err)}`));
    }
    if (ownDir && checkpointDir) {
      if (removeDir) rmSync(checkpointDir, { recursive: true, force: true });
      else warn(`checkpoints retained in ${checkpointDir} (resume with --checkpoint-dir ${checkpointDir} --resume latest)`);
    }
    if (localDir) rmSync(localDir, { recursive: true, force: true });
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((r) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      r();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Whether `dir` holds a completed checkpoint; an unreadable one counts (the user decides). */
async function holdsCheckpoint(dir: string): Promise<boolean> {
  try {
    return (await new CheckpointStorage(dir).latest()) !== undefined;
  } catch {
    return true;
  }
}

function definedOnly<T extends object>(o: T): Partial<T> {
  const r: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (r as Record<string, unknown>)[k] = v;
  return r;
}
