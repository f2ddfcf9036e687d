/**
 * runJob: load and plan the job on the main thread, lay it out on shared memory, run attempts
 * in the slot pool until one ends the job, and turn that into a result or an EddyError.
 *
 * Failover is global: any task failure cancels every task of the attempt (attempt.ts); the
 * restart strategy decides whether another attempt runs, restored from the latest completed
 * checkpoint (sources rewind to its offsets, sinks re-commit its sealed transactions and
 * drop everything after it).
 */
import { resolve } from 'node:path';
import { CheckpointStorage } from '../checkpoint/storage.js';
import type { JobDefinition } from '../api/job.js';
import { EddyError } from '../failure.js';
import { writeArchive } from '../observe/archive.js';
import { JobRecord } from '../observe/job-record.js';
import { buildJobViews } from '../observe/views.js';
import { Attempt } from './attempt.js';
import { CollectedRecords } from './collected-records.js';
import { controlHandlers, type LiveJob } from './control-handlers.js';
import { deploy } from './deployment.js';
import { readEnvOverrides } from './env-overrides.js';
import { planJob, type JobPlan } from './job-plan.js';
import { readMetrics, startProgress } from './job-progress.js';
import { initialRestore, restoreSpecOf } from './restore.js';
import type { RestoreSpec } from './messages.js';
import { loadJob } from './module-loader.js';
import { parseRestartSpec } from './option-values.js';
import type { JobResult, RunOptions } from './options.js';
import { SlotPool } from './pool.js';
import { createRestartStrategy } from './restart-strategy.js';
import { openEndpoints, type RunEndpoints } from './run-endpoints.js';
import { closeRunFolders, openRunFolders } from './run-folders.js';
import { RunTally } from './run-tally.js';

const RETAINED_CHECKPOINTS = 3;

/**
 * Runs the job module at `jobPath` (a file whose default export is `defineJob(...)`) in this
 * process, as `eddy run` does: `options` are the CLI's flags (parallelism, checkpointing,
 * restart strategy, job args …) over EDDY_* variables; `opts.signal` cancels the job.
 * Resolves with the result when the job ends; rejects with an EddyError (code and one line)
 * when it fails beyond its restart strategy or cannot start.
 */
export async function runJob(
  jobPath: string,
  options: RunOptions = {},
  opts: { signal?: AbortSignal } = {},
  loadExtensions?: () => Promise<boolean>,
): Promise<JobResult> {
  const started = performance.now();
  const overrides: RunOptions = { ...readEnvOverrides(process.env), ...definedOnly(options) };
  const args = overrides.args ?? {};
  const def = await loadJob(jobPath);
  const plan = await planLoading(def, args, overrides, loadExtensions);
  for (const n of plan.graph.nodes) {
    // Checks such as "the input file exists" fail here, before any thread starts.
    await n.source?.validate?.();
    await n.sink?.validate?.();
  }
  const warn = (m: string) => options.onWarning?.(m);
  const checkpointing = plan.settings.mode !== 'none';
  // What this run starts from, verified file by file before any thread starts.
  const initial = await initialRestore(plan, overrides, warn);
  // Refused before the folders are made: a bad --restart must not leave a temporary folder behind.
  const restart = createRestartStrategy(parseRestartSpec('--restart', overrides.restart ?? (checkpointing ? 'exponential' : 'none')));
  const folders = openRunFolders(plan, overrides);
  const { checkpointDir, localDir } = folders;
  const collector = new CollectedRecords();
  let deployment = deploy(plan, jobPath, args);
  // Kept threads serve only jobs that load what this one loads in them (its build notes: SQL).
  const pool = new SlotPool(deployment.tasks.length, Object.keys(plan.notes).sort().join());
  let progress = startProgress(plan, deployment, options, started);
  const record = new JobRecord(plan, resolve(jobPath));
  const tally = new RunTally();
  let restore: RestoreSpec | undefined = initial;
  let finished = false;
  // Ctrl-C (the caller's signal), `eddy stop` and the dashboard's stop all cancel the job.
  const stopper = new AbortController();
  const signal = opts.signal ? AbortSignal.any([opts.signal, stopper.signal]) : stopper.signal;
  const live: LiveJob = { job: resolve(jobPath), attempt: 0, coordinator: undefined, savepoints: [] };
  let endpoints: RunEndpoints | undefined;
  let resolveEnded!: () => void;
  const ended = new Promise<void>((r) => (resolveEnded = r));
  const restoredFrom = initial ? { checkpointDir: initial.checkpointDir, checkpointId: initial.checkpointId } : undefined;
  const result = (cancelled: boolean): JobResult => ({
    durationMs: performance.now() - started,
    operators: collector.parseCounts.attach(readMetrics(plan, deployment)),
    collected: collector.byUid,
    checkpointsCompleted: tally.checkpointsCompleted,
    checkpointsFailed: tally.checkpointsFailed,
    checkpointsFailedByReason: tally.checkpointsFailedByReason,
    checkpoints: tally.checkpoints,
    restarts: tally.restarts,
    failures: tally.failures,
    exceptions: tally.history.entries,
    cancelled,
    savepoints: live.savepoints,
    stoppedWithSavepoint: live.stopSavepoint,
    restoredFrom,
    stateRestores: collector.restores,
  });
  try {
    const handlers = checkpointDir
      ? controlHandlers(live, checkpointDir, stopper, ended, () => ({
          restarts: tally.restarts,
          checkpointsCompleted: tally.checkpointsCompleted + (live.coordinator?.completed ?? 0),
        }))
      : undefined;
    endpoints = await openEndpoints({ jobPath, checkpointDir, handlers, record, overrides, options, restoredFrom });
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
      tally.attemptEnded(end);
      if (!end.failure || end.cancelled) {
        finished = !end.failure && !end.cancelled;
        record.finish(finished ? 'FINISHED' : end.cancelled ? 'CANCELED' : 'FAILED');
        if (end.failure) throw EddyError.fromFailure(end.failure);
        return result(end.cancelled);
      }
      const { entry, line } = tally.failed(end.failure, attempt + 1, Date.now());
      record.failed(entry);
      const decision = restart.onFailure(Date.now());
      // A job that fails once without restarting gets only its error line; the history line
      // belongs to a sequence of restarts.
      if (decision.restart || tally.restarts > 0)
        options.onFailure?.(
          decision.restart
            ? `${line}; restarting in ${decision.delayMs} ms (--restart ${restart.description})`
            : `${line}; not restarting (${decision.reason})`,
        );
      if (!decision.restart) {
        record.finish('FAILED');
        const f = end.failure;
        throw EddyError.fromFailure(tally.restarts > 0 ? { ...f, message: `${f.message} (${decision.reason})` } : f);
      }
      tally.restarts++;
      record.restarting();
      await sleep(decision.delayMs, signal);
      if (signal.aborted) {
        record.finish('CANCELED');
        return result(true);
      }
      restore = await restoreAfterFailure(plan, checkpointDir, tally.checkpointsCompleted > 0, initial);
      // Fresh rings and counters: nothing of the failed attempt may leak into the next.
      progress?.stop();
      deployment = deploy(plan, jobPath, args);
      progress = startProgress(plan, deployment, options, started);
    }
  } finally {
    resolveEnded();
    progress?.stop();
    record.finish('FAILED'); // no-op when the state is already final
    await endpoints?.close();
    await pool.destroy();
    await closeRunFolders(folders, finished, (dir) => writeArchive(dir, buildJobViews(record)), warn);
  }
}

/**
 * Plans the job; a build that fails with a TypeError is run once more if `loadExtensions` then loads what was
 * not loaded (SQL, for a build that calls env.sql: core/index.ts), so that jobs that do not
 * need it never load it. A build that fails for its own reasons fails the same way again.
 */
async function planLoading(
  def: JobDefinition,
  args: Record<string, string>,
  overrides: RunOptions,
  loadExtensions: (() => Promise<boolean>) | undefined,
): Promise<JobPlan> {
  try {
    return planJob(def, args, overrides);
  } catch (err) {
    // A call of a method SQL adds (env.sql) fails as a TypeError; any other failure is the
    // build's own and is not run twice.
    if (!((err as { cause?: unknown }).cause instanceof TypeError) || loadExtensions === undefined || !(await loadExtensions())) throw err;
    return planJob(def, args, overrides);
  }
}

/**
 * Where the next attempt starts: the newest checkpoint of this run; before its first one,
 * where the run started from (never an older run's checkpoint that happens to lie in the same
 * directory).
 */
async function restoreAfterFailure(
  plan: JobPlan,
  checkpointDir: string | undefined,
  completedAny: boolean,
  initial: RestoreSpec | undefined,
): Promise<RestoreSpec | undefined> {
  if (!checkpointDir || !completedAny) return initial;
  const latest = await new CheckpointStorage(checkpointDir).latest();
  return latest ? restoreSpecOf(checkpointDir, latest.id, latest.metadata, plan) : initial;
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

function definedOnly<T extends object>(o: T): Partial<T> {
  const r: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (r as Record<string, unknown>)[k] = v;
  return r;
}
