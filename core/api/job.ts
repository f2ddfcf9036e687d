/** A job module's default export: the function that builds the graph, branded. */
import type { StreamExecutionEnvironment } from './environment.js';

const JOB_BRAND = Symbol.for('eddy.job');

/** What `defineJob` returns and a job module exports as default. */
export interface JobDefinition {
  readonly [JOB_BRAND]: true;
  /** Builds the job's graph on the environment; runs in the main thread and in every worker, so it must build the same graph each time. */
  readonly build: (env: StreamExecutionEnvironment) => void;
}

/**
 * Declares a job: `export default defineJob((env) => { env.fromSource(...)...sinkTo(...) })`.
 * The module is imported by every worker and `build` runs there again, so user functions stay
 * closures and are never serialized (the module plays the part of Flink's user jar).
 */
export function defineJob(build: (env: StreamExecutionEnvironment) => void): JobDefinition {
  if (typeof build !== 'function') throw new TypeError('defineJob expects a function (env) => { ... }');
  return { [JOB_BRAND]: true, build };
}

/** Symbol.for, not a module-local symbol: a job module may resolve 'eddy' to another copy. */
export function isJobDefinition(x: unknown): x is JobDefinition {
  return (
    typeof x === 'object' &&
    x !== null &&
    (x as Record<symbol, unknown>)[JOB_BRAND] === true &&
    typeof (x as JobDefinition).build === 'function'
  );
}
