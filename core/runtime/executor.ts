/**
 * runJob: load and plan the job on the main thread, lay it out on shared memory, run every
 * task in the slot pool, and turn what comes back into a result or an EddyError.
 *
 * Failover is global: any task failure cancels every task of the attempt; the restart
 * strategy decides whether another attempt runs, restored from the latest completed
 * checkpoint (sources rewind to its offsets, sinks re-commit its sealed transactions and
 * drop everything after it).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { CheckpointCoordinator, type CheckpointStats } from '../checkpoint/coordinator.js';
import { defaultSavepointRoot, writeSavepoint } from '../checkpoint/savepoint.js';
import { CheckpointStorage } from '../checkpoint/storage.js';
import { startControlServer, type ControlServer } from '../control/control-server.js';
import { ringGate, poisonRing } from '../channel/ring.js';
import { EddyError, type Failure } from '../failure.js';
import { displayName } from '../graph/stream-graph.js';
import { deploy, type Deployment } from './deployment.js';
import { ensureDirectory } from './directories.js';
import { FailureHistory } from './failure-history.js';
import { readEnvOverrides } from './env-overrides.js';
import { planJob, type JobPlan } from './job-plan.js';
import { initialRestore, restoreSpecOf } from './restore.js';
import type { RestoreSpec, TaskCommand, TaskOutcome, TaskReport, TaskSpec } from './messages.js';
import { loadJob } from './module-loader.js';
import { parseRestartSpec } from './option-values.js';
import type { JobProgress, JobResult, OperatorMetrics, RunOptions, StateRestore } from './options.js';
import { SlotPool } from './pool.js';
import { createRestartStrategy } from './restart-strategy.js';
import { CONTROL_CANCEL, METRIC_RECORDS_IN, METRIC_RECORDS_OUT, METRICS_PER_SLOT } from './shared-layout.js';

/** How long cancelled tasks get to leave their loops before their threads are terminated. */
const CANCEL_GRACE_MS = 5_000;
const RETAINED_CHECKPOINTS = 3;
const CHECKPOINT_TIMEOUT_MS = 60_000;
const TOLERABLE_CHECKPOINT_FAILURES = 3;

/** A collect sink's report: one chunk of one committed transaction. */
interface CollectedChunk {
  id: string;
  part: number;
  records: unknown[];
}

/** Keeps each committed collect transaction once, however often a restore re-commits it. */
class CollectedRecords {
  readonly byUid: Record<string, unknown[]> = {};
  /** How each keyed operator subtask restored its state, in the order reported. */
  readonly restores: StateRestore[] = [];
  private readonly seen = new Set<string>();
  add(uid: string, c: CollectedChunk): void {
    const key = `${c.id}#${c.part}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    const list = (this.byUid[uid] ??= []);
    for (const r of c.records) list.push(r);
  }
}

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
  let restarts = 0;
  const failures: Failure[] = [];
  const history = new FailureHistory();
  const checkpoints: CheckpointStats[] = [];
  let checkpointsCompleted = 0;
  let checkpointsFailed = 0;
  let restore: RestoreSpec | undefined = initial;
  let finished = false;
  // Ctrl-C (the caller's signal) and `eddy stop` both cancel the job.
  const stopper = new AbortController();
  const signal = opts.signal ? AbortSignal.any([opts.signal, stopper.signal]) : stopper.signal;
  const live: LiveJob = { job: resolve(jobPath), attempt: 0, coordinator: undefined, savepoints: [] };
  let control: ControlServer | undefined;
  let resolveEnded!: () => void;
  const ended = new Promise<void>((r) => (resolveEnded = r));
  const restoredFrom = initial ? { checkpointDir: initial.checkpointDir, checkpointId: initial.checkpointId } : undefined;
  const result = (cancelled: boolean): JobResult => ({
    durationMs: performance.now() - started,
    operators: readMetrics(plan, deployment),
    collected: collector.byUid,
    checkpointsCompleted,
    checkpointsFailed,
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
    if (checkpointDir) {
      control = await startControlServer(checkpointDir, jobPath, controlHandlers(live, checkpointDir, stopper, ended, () => ({ restarts, checkpointsCompleted: checkpointsCompleted + (live.coordinator?.completed ?? 0) })));
      options.onStart?.({ checkpointDir, restoredFrom });
    }
    for (let attempt = 0; ; attempt++) {
      live.attempt = attempt;
      const end = await runAttempt(plan, deployment, pool, attempt, collector, signal, checkpointDir, restore, live, {
        retained: overrides.retainedCheckpoints ?? RETAINED_CHECKPOINTS,
        warn,
        localDir,
      });
      checkpointsCompleted += end.checkpointsCompleted;
      checkpointsFailed += end.checkpointsFailed;
      checkpoints.push(...end.checkpoints);
      if (!end.failure || end.cancelled) {
        finished = !end.failure && !end.cancelled;
        if (end.failure) throw EddyError.fromFailure(end.failure);
        return result(end.cancelled);
      }
      failures.push(end.failure);
      const line = history.add(end.failure, attempt + 1, Date.now());
      const decision = restart.onFailure(Date.now());
      // A job that fails once without restarting gets only its error line; the history line
      // belongs to a sequence of restarts.
      if (decision.restart || restarts > 0) options.onFailure?.(decision.restart ? `${line}; restarting in ${decision.delayMs} ms (--restart ${restart.description})` : `${line}; not restarting (${decision.reason})`);
      if (!decision.restart) {
        const f = end.failure;
        throw EddyError.fromFailure(restarts > 0 ? { ...f, message: `${f.message} (${decision.reason})` } : f);
      }
      restarts++;
      await sleep(decision.delayMs, signal);
      if (signal.aborted) {
        return result(true);
      }
      // The newest checkpoint of this run; before its first one, where the run started from
      // (never an older run's checkpoint that happens to lie in the same directory).
      if (checkpointDir && checkpointsCompleted > 0) {
        const latest = await new CheckpointStorage(checkpointDir).latest();
        restore = latest ? restoreSpecOf(checkpointDir, latest.id, latest.metadata.operators) : initial;
      } else restore = initial;
      // Fresh rings and counters: nothing of the failed attempt may leak into the next.
      progress?.stop();
      deployment = deploy(plan, jobPath, args);
      progress = startProgress(plan, deployment, options, started);
    }
  } finally {
    resolveEnded();
    progress?.stop();
    await control?.close();
    await pool.destroy();
    if (ownDir && checkpointDir) {
      // A temporary directory goes only after a clean finish that left no savepoint in it;
      // otherwise it holds what the user needs to resume.
      if (finished && !existsSync(defaultSavepointRoot(checkpointDir))) rmSync(checkpointDir, { recursive: true, force: true });
      else warn(`checkpoints retained in ${checkpointDir} (resume with --checkpoint-dir ${checkpointDir} --resume latest)`);
    }
    if (localDir) rmSync(localDir, { recursive: true, force: true });
  }
}

/** What the control endpoint reaches of the running job. */
interface LiveJob {
  job: string;
  attempt: number;
  coordinator: CheckpointCoordinator | undefined;
  savepoints: string[];
  stopSavepoint?: string;
}

function controlHandlers(
  live: LiveJob,
  checkpointDir: string,
  stopper: AbortController,
  ended: Promise<void>,
  counts: () => { restarts: number; checkpointsCompleted: number },
) {
  const coordinator = () => {
    const c = live.coordinator;
    if (!c) throw new EddyError('SAVEPOINT_FAILED', 'the job is restarting; try again in a moment');
    return c;
  };
  const savepoint = async (stop: boolean, target: string | undefined) => {
    const targetRoot = target !== undefined ? resolve(target) : defaultSavepointRoot(checkpointDir);
    try {
      const sp = await coordinator().triggerSavepoint(stop, targetRoot);
      live.savepoints.push(sp.path);
      if (stop) live.stopSavepoint = sp.path;
      return { id: sp.id, path: sp.path };
    } catch (err) {
      if (err instanceof EddyError) throw err;
      throw new EddyError('SAVEPOINT_FAILED', `savepoint failed${stop ? ' (the job keeps running)' : ''}: ${err instanceof Error ? err.message : String(err)}`);
    }
  };
  return {
    savepoint: (target: string | undefined) => savepoint(false, target),
    async stop(withSavepoint: boolean, target: string | undefined) {
      const sp = withSavepoint ? await savepoint(true, target) : undefined;
      if (!sp) stopper.abort(new EddyError('CANCELLED', 'job stopped by eddy stop'));
      await ended;
      return sp ?? {};
    },
    status: () => ({ job: live.job, attempt: live.attempt, ...counts() }),
  };
}

interface AttemptEnd {
  failure?: Failure;
  cancelled: boolean;
  checkpointsCompleted: number;
  checkpointsFailed: number;
  checkpoints: CheckpointStats[];
}

async function runAttempt(
  plan: JobPlan,
  d: Deployment,
  pool: SlotPool,
  attempt: number,
  collector: CollectedRecords,
  signal: AbortSignal | undefined,
  checkpointDir: string | undefined,
  restore: RestoreSpec | undefined,
  live: LiveJob,
  cfg: { retained: number; warn: (m: string) => void; localDir: string | undefined },
): Promise<AttemptEnd> {
  const control = new Int32Array(d.control);
  let firstFailure: Failure | undefined;
  let cancelledByUser = false;
  const killers = d.tasks.map(() => new AbortController());
  const ports: MessagePort[] = [];
  const command = (k: number, cmd: TaskCommand) => {
    ports[k].postMessage(cmd);
  };
  const sourceTasks = d.tasks.map((t, k) => (plan.jobGraph.vertices[t.spec.vertex].nodes[0].kind === 'source' ? k : -1)).filter((k) => k >= 0);
  let sourcesEnded = 0;
  let coordinator: CheckpointCoordinator | undefined;

  const cancelAll = () => {
    if (Atomics.load(control, CONTROL_CANCEL) !== 0) return;
    coordinator?.stop();
    Atomics.store(control, CONTROL_CANCEL, 1);
    for (const r of d.rings) poisonRing(r.ring, r.gate);
    for (const g of d.gates) ringGate(new Int32Array(g));
    // Tasks that do not leave their loops in time (a user function stuck in a loop) lose
    // their threads.
    setTimeout(() => killers.forEach((k) => k.abort()), CANCEL_GRACE_MS).unref();
  };
  const fail = (f: Failure) => {
    firstFailure ??= f;
    cancelAll();
  };
  const onAbort = () => {
    cancelledByUser = true;
    cancelAll();
  };
  if (signal?.aborted) onAbort();
  signal?.addEventListener('abort', onAbort, { once: true });

  if (checkpointDir) {
    const storage = new CheckpointStorage(checkpointDir);
    coordinator = new CheckpointCoordinator(
      {
        intervalMs: plan.settings.checkpointIntervalMs,
        timeoutMs: CHECKPOINT_TIMEOUT_MS,
        minPauseMs: Math.min(plan.settings.checkpointIntervalMs / 2, 500),
        tolerableFailures: TOLERABLE_CHECKPOINT_FAILURES,
        taskCount: d.tasks.length,
        maxParallelism: plan.settings.maxParallelism,
        // Past every chk-N already here, complete or not (a killed run leaves incomplete ones).
        firstId: Math.max(restore?.checkpointId ?? 0, await storage.highestId()) + 1,
      },
      {
        trigger: (id, timestamp, final, kind, stop) => {
          for (const k of sourceTasks) command(k, { type: 'trigger', id, timestamp, final, kind, stop });
        },
        persist: async (metadata) => {
          await storage.commitMetadata(metadata.id, metadata);
          await storage.prune(cfg.retained);
        },
        persistSavepoint: (metadata, targetRoot) => writeSavepoint(storage, metadata, targetRoot),
        notifyComplete: (id, final) => d.tasks.forEach((_, k) => command(k, { type: 'notify', id, final })),
        notifyAborted: (id, reason) => {
          // Unless the job is going down anyway, a failed checkpoint is news the user wants.
          if (Atomics.load(control, CONTROL_CANCEL) === 0) cfg.warn(`checkpoint ${id} failed: ${reason}`);
          d.tasks.forEach((_, k) => command(k, { type: 'abort', id }));
          void storage.discard(id).catch(() => {});
        },
        failJob: (reason) => fail({ code: 'CHECKPOINT_FAILED', message: reason }),
      },
    );
  }

  const runs = d.tasks.map((t, k) => {
    const { port1, port2 } = new MessageChannel();
    ports.push(port1);
    const done = new Promise<void>((resolveDone) => {
      port1.on('message', (m: TaskReport) => {
        switch (m.type) {
          case 'done':
            resolveDone();
            break;
          case 'report':
            if (m.kind === 'collect') collector.add(m.operatorUid, m.payload as CollectedChunk);
            else if (m.kind === 'restore') collector.restores.push({ uid: m.operatorUid, ...(m.payload as Omit<StateRestore, 'uid'>) });
            break;
          case 'ack':
            coordinator?.onAck(k, m.id, m.acks, m.phases);
            break;
          case 'decline':
            coordinator?.onDecline(m.id, m.reason);
            break;
          case 'source-ended':
            if (++sourcesEnded === sourceTasks.length) coordinator?.requestFinal();
            break;
        }
      });
    });
    const spec: TaskSpec = { ...t.spec, attempt, port: port2, checkpointDir, restore, localDir: cfg.localDir };
    const outcome: Promise<TaskOutcome> = pool.run(spec, killers[k].signal).then(
      async (o) => {
        await done;
        return o;
      },
      (err): TaskOutcome => {
        // The worker itself died (process.exit, a native crash) or was terminated by us.
        if (Atomics.load(control, CONTROL_CANCEL) !== 0 && killers[k].signal.aborted) return { status: 'cancelled' };
        const cause = err instanceof Error ? err.message : String(err);
        return {
          status: 'failed',
          failure: {
            code: 'WORKER_EXITED',
            message: `the worker running '${t.name}' died: ${cause}`,
            operatorUid: plan.jobGraph.vertices[t.spec.vertex].name,
            subtask: t.spec.subtask,
            cause,
          },
        };
      },
    );
    return outcome.then((o) => {
      port1.close();
      if (o.status === 'failed') fail(o.failure);
      return o;
    });
  });
  coordinator?.start();
  live.coordinator = coordinator;
  await Promise.all(runs);
  live.coordinator = undefined;
  coordinator?.stop();
  signal?.removeEventListener('abort', onAbort);
  const checkpointsCompleted = coordinator?.completed ?? 0;
  const checkpointsFailed = coordinator?.failed ?? 0;
  const checkpoints = coordinator?.stats ?? [];
  if (firstFailure) return { failure: firstFailure, cancelled: cancelledByUser, checkpointsCompleted, checkpointsFailed, checkpoints };
  return { cancelled: cancelledByUser, checkpointsCompleted, checkpointsFailed, checkpoints };
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

function readMetrics(plan: JobPlan, d: Deployment): OperatorMetrics[] {
  const m = new Float64Array(d.metrics);
  return plan.graph.nodes.map((n) => {
    const p = plan.jobGraph.parallelism[n.id];
    let recordsIn = 0;
    let recordsOut = 0;
    for (let s = 0; s < p; s++) {
      const at = (d.slotBases[n.id] + s) * METRICS_PER_SLOT;
      recordsIn += m[at + METRIC_RECORDS_IN];
      recordsOut += m[at + METRIC_RECORDS_OUT];
    }
    return { uid: displayName(n), name: n.name, kind: n.kind, parallelism: p, recordsIn, recordsOut };
  });
}

function startProgress(plan: JobPlan, d: Deployment, options: RunOptions, started: number): { stop(): void } | undefined {
  const cb = options.onProgress;
  if (!cb) return undefined;
  const tick = () => {
    const p: JobProgress = { elapsedMs: performance.now() - started, operators: readMetrics(plan, d) };
    try {
      cb(p);
    } catch {
      // A progress callback must not take the job down.
    }
  };
  const timer = setInterval(tick, options.progressIntervalMs ?? 250);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      tick();
    },
  };
}

function definedOnly<T extends object>(o: T): Partial<T> {
  const r: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (r as Record<string, unknown>)[k] = v;
  return r;
}
