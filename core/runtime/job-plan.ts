/**
 * Runs a job module's build function and plans it: stream graph, settings, job graph. The
 * main thread and every worker call this with the same inputs and get the same plan; the
 * fingerprint proves it. A worker's build also gets the main thread's build notes, so that
 * what was worked out once (SQL parsed) is not worked out again in every thread.
 */
import { StreamExecutionEnvironment, type BuildNotes } from '../api/environment.js';
import type { JobDefinition } from '../api/job.js';
import { EddyError, messageOf } from '../failure.js';
import { buildJobGraph, fingerprint, type JobGraph } from '../graph/job-graph.js';
import type { StreamGraph } from '../graph/stream-graph.js';
import type { RunOptions } from './options.js';
import { resolveSettings, type ResolvedSettings } from './settings.js';

export interface JobPlan {
  graph: StreamGraph;
  jobGraph: JobGraph;
  settings: ResolvedSettings;
  fingerprint: string;
  /** What the build left for the workers' builds (each task spec carries it). */
  notes: BuildNotes;
}

/** `replayOf`: in a worker, the main thread's build notes (TaskSpec.buildNotes). */
export function planJob(def: JobDefinition, args: Record<string, string>, overrides: RunOptions, replayOf?: BuildNotes): JobPlan {
  const env = new StreamExecutionEnvironment(args, replayOf);
  try {
    def.build(env);
  } catch (err) {
    if (err instanceof EddyError) throw err;
    // The error itself stays as `cause`: runJob runs a build that failed as a TypeError again
    // once SQL is loaded (job-run.ts, planLoading).
    throw Object.assign(new EddyError('JOB_INVALID', `the job's build function threw: ${messageOf(err)}`), { cause: err });
  }
  env.graph.validate();
  const settings = resolveSettings(env.settings, overrides);
  const jobGraph = buildJobGraph(env.graph, { defaultParallelism: settings.parallelism, maxParallelism: settings.maxParallelism });
  return { graph: env.graph, jobGraph, settings, fingerprint: fingerprint(jobGraph), notes: env.notes };
}
