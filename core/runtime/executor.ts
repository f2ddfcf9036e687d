/**
 * runJob: load and plan the job on the main thread, lay it out on shared memory, run every
 * task in the slot pool, and turn what comes back into a result or an EddyError.
 */
import { MessageChannel } from 'node:worker_threads';
import { ringGate, poisonRing } from '../channel/ring.js';
import { EddyError, type Failure } from '../failure.js';
import { displayName } from '../graph/stream-graph.js';
import { deploy, type Deployment } from './deployment.js';
import { readEnvOverrides } from './env-overrides.js';
import { planJob, type JobPlan } from './job-plan.js';
import type { TaskOutcome, TaskReport, TaskSpec } from './messages.js';
import { loadJob } from './module-loader.js';
import type { JobProgress, JobResult, OperatorMetrics, RunOptions } from './options.js';
import { SlotPool } from './pool.js';
import { CONTROL_CANCEL, METRIC_RECORDS_IN, METRIC_RECORDS_OUT, METRICS_PER_SLOT } from './shared-layout.js';

/** How long cancelled tasks get to leave their loops before their threads are terminated. */
const CANCEL_GRACE_MS = 5_000;

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
  const deployment = deploy(plan, jobPath, args);
  const pool = new SlotPool(deployment.tasks.length);
  const collected: Record<string, unknown[]> = {};
  const progress = startProgress(plan, deployment, options, started);
  try {
    const end = await runAttempt(plan, deployment, pool, 0, collected, opts.signal);
    if (end.failure) throw EddyError.fromFailure(end.failure);
    return {
      durationMs: performance.now() - started,
      operators: readMetrics(plan, deployment),
      collected,
      checkpointsCompleted: 0,
      restarts: 0,
      cancelled: end.cancelled,
    };
  } finally {
    progress?.stop();
    await pool.destroy();
  }
}

interface AttemptEnd {
  failure?: Failure;
  cancelled: boolean;
}

async function runAttempt(
  plan: JobPlan,
  d: Deployment,
  pool: SlotPool,
  attempt: number,
  collected: Record<string, unknown[]>,
  signal: AbortSignal | undefined,
): Promise<AttemptEnd> {
  const control = new Int32Array(d.control);
  let firstFailure: Failure | undefined;
  let cancelledByUser = false;
  const killers = d.tasks.map(() => new AbortController());

  const cancelAll = () => {
    if (Atomics.load(control, CONTROL_CANCEL) !== 0) return;
    Atomics.store(control, CONTROL_CANCEL, 1);
    for (const r of d.rings) poisonRing(r.ring, r.gate);
    for (const g of d.gates) ringGate(new Int32Array(g));
    // Tasks that do not leave their loops in time (a user function stuck in a loop) lose
    // their threads.
    setTimeout(() => killers.forEach((k) => k.abort()), CANCEL_GRACE_MS).unref();
  };
  const onAbort = () => {
    cancelledByUser = true;
    cancelAll();
  };
  if (signal?.aborted) onAbort();
  signal?.addEventListener('abort', onAbort, { once: true });

  const runs = d.tasks.map((t, k) => {
    const { port1, port2 } = new MessageChannel();
    const done = new Promise<void>((resolve) => {
      port1.on('message', (m: TaskReport) => {
        if (m.type === 'done') resolve();
        else if (m.kind === 'collect') (collected[m.operatorUid] ??= []).push(...(m.payload as unknown[]));
      });
    });
    const spec: TaskSpec = { ...t.spec, attempt, port: port2 };
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
      if (o.status === 'failed') {
        firstFailure ??= o.failure;
        cancelAll();
      }
      return o;
    });
  });
  await Promise.all(runs);
  signal?.removeEventListener('abort', onAbort);
  if (firstFailure) return { failure: firstFailure, cancelled: false };
  return { cancelled: cancelledByUser };
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
