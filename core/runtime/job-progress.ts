/** Records in and out per operator, read from the metrics block, for progress and the result. */
import { displayName } from '../graph/stream-graph.js';
import { METRIC_RECORDS_IN, METRIC_RECORDS_OUT, METRICS_PER_SLOT } from '../observe/metrics-layout.js';
import type { Deployment } from './deployment.js';
import type { JobPlan } from './job-plan.js';
import type { JobProgress, OperatorMetrics, RunOptions } from './options.js';

/**
 * Operators are read downstream first (graph nodes are made after their inputs), while tasks
 * keep counting: a task publishes its counts before it sends a batch (workers/output.ts), so
 * whatever a reader saw arrive was counted upstream no later, and a snapshot never shows an
 * operator further along the pipeline than the one feeding it.
 */
export function readMetrics(plan: JobPlan, d: Deployment): OperatorMetrics[] {
  const m = new Float64Array(d.metrics);
  const nodes = plan.graph.nodes;
  const out = new Array<OperatorMetrics>(nodes.length);
  for (let i = nodes.length - 1; i >= 0; i--) {
    const n = nodes[i];
    const p = plan.jobGraph.parallelism[n.id];
    let recordsIn = 0;
    let recordsOut = 0;
    for (let s = 0; s < p; s++) {
      const at = (d.slotBases[n.id] + s) * METRICS_PER_SLOT;
      recordsIn += m[at + METRIC_RECORDS_IN];
      recordsOut += m[at + METRIC_RECORDS_OUT];
    }
    out[i] = { uid: displayName(n), name: n.name, kind: n.kind, parallelism: p, recordsIn, recordsOut };
  }
  return out;
}

export function startProgress(plan: JobPlan, d: Deployment, options: RunOptions, started: number): { stop(): void } | undefined {
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
