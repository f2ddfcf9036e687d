/**
 * The processing guarantee a job asks for. It sits below the API that sets it and the runtime
 * that honours it, so neither has to import the other to name it.
 */

/** The consistency a job's checkpoints give: exactly-once (aligned barriers), at-least-once, or no checkpoints. */
export type ConsistencyMode = 'exactly-once' | 'at-least-once' | 'none';
