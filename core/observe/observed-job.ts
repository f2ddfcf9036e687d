/**
 * What the observer reads of a running job, in its own terms: the planned graphs with the few
 * settings the dashboard shows, and per attempt the shared blocks the tasks publish into. The
 * runtime's JobPlan and Deployment have these shapes (TypeScript checks it where runtime/
 * hands them over), so observe/ never imports the runtime that runs the job.
 */
import type { ConsistencyMode } from '../contract/consistency.js';
import type { JobGraph } from '../graph/job-graph.js';
import type { StreamGraph } from '../graph/stream-graph.js';

/** The planned job: its graphs and the settings the dashboard shows. */
export interface ObservedPlan {
  readonly graph: StreamGraph;
  readonly jobGraph: JobGraph;
  readonly settings: { readonly mode: ConsistencyMode; readonly checkpointIntervalMs: number; readonly stateBackend: string };
}

/** One task of an attempt: where it is in the job graph and the shared memory it publishes into. */
export interface ObservedTask {
  readonly vertex: number;
  readonly subtask: number;
  /** Its counters block (metrics-layout.ts). */
  readonly counters: SharedArrayBuffer;
  /** Metrics slot of every chained operator, head first. */
  readonly metricsSlots: readonly number[];
  /** Input rings, whose read positions count the bytes in. */
  readonly inputs: readonly { readonly ring: SharedArrayBuffer }[];
  /** Output rings per edge, whose write positions count the bytes out. */
  readonly outputs: readonly { readonly rings: readonly SharedArrayBuffer[] }[];
}

/** An attempt's deployment: the metrics block and its tasks, in the order tasks are numbered. */
export interface ObservedDeployment {
  readonly metrics: SharedArrayBuffer;
  readonly tasks: readonly { readonly spec: ObservedTask }[];
}
