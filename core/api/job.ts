/** A job module's default export: the function that builds the graph, branded. */
import type { StreamExecutionEnvironment } from './environment.js';

const JOB_BRAND = Symbol.for('eddy.job');

export interface JobDefinition {
  readonly [JOB_BRAND]: true;
  readonly build: (env: StreamExecutionEnvironment) => void;
}

export function defineJob(build: (env: StreamExecutionEnvironment) => void): JobDefinition {
  if (typeof build !== 'function') throw new TypeError('defineJob expects a function (env) => { ... }');
  return { [JOB_BRAND]: true, build };
}

/** Symbol.for, not a module-local symbol: a job module may resolve 'eddy' to another copy. */
export function isJobDefinition(x: unknown): x is JobDefinition {
  return typeof x === 'object' && x !== null && (x as Record<symbol, unknown>)[JOB_BRAND] === true && typeof (x as JobDefinition).build === 'function';
}
