/**
 * Restart strategies: after each failure of the job, whether to restart and after what delay.
 *
 * The executor calls `onFailure(now)` once per failover (one job-wide restart), not once per
 * failed task: the strategies count failures, and several tasks torn down by the same cause
 * are one failure. Time comes in as an argument (and randomness through `opts.random`) so the
 * decisions are plain functions of their inputs and can be tested without waiting.
 */
import type { RestartSpec } from './option-values.js';

export type RestartDecision = { restart: true; delayMs: number } | { restart: false; reason: string };

export interface RestartStrategy {
  /** The spec as written on the command line, e.g. `fixed:3:100`. */
  readonly description: string;
  onFailure(nowMs: number): RestartDecision;
}

export interface RestartStrategyOptions {
  /** Uniform in [0, 1); Math.random by default. Only the exponential jitter uses it. */
  random?: () => number;
}

/**
 * failure-rate has no delay in its syntax; a short pause still keeps a job that fails at once
 * on every start from spinning the CPU while it uses up its budget.
 */
export const FAILURE_RATE_DELAY_MS = 100;

export const EXPONENTIAL_INITIAL_DELAY_MS = 100;
export const EXPONENTIAL_MAX_DELAY_MS = 10_000;
/** Each delay is scaled by a factor in [1 - JITTER, 1 + JITTER), so restarts of many jobs spread out. */
export const EXPONENTIAL_JITTER = 0.1;
/** Running this long without a failure counts as healthy: the next failure starts over at the initial delay. */
export const EXPONENTIAL_RESET_MS = 60_000;

export function formatRestartSpec(spec: RestartSpec): string {
  switch (spec.kind) {
    case 'fixed':
      return `fixed:${spec.attempts}:${spec.delayMs}`;
    case 'failure-rate':
      return `failure-rate:${spec.maxFailures}:${spec.windowMs}`;
    default:
      return spec.kind;
  }
}

export function createRestartStrategy(spec: RestartSpec, opts: RestartStrategyOptions = {}): RestartStrategy {
  const description = formatRestartSpec(spec);
  switch (spec.kind) {
    case 'none':
      return { description, onFailure: () => ({ restart: false, reason: 'restart strategy none exhausted after 0 restarts' }) };
    case 'fixed':
      return fixedDelay(description, spec.attempts, spec.delayMs);
    case 'failure-rate':
      return failureRate(description, spec.maxFailures, spec.windowMs);
    case 'exponential':
      return exponentialDelay(description, opts.random ?? Math.random);
    default: {
      const unknown: never = spec;
      throw new TypeError(`unknown restart strategy ${JSON.stringify(unknown)}`);
    }
  }
}

function fixedDelay(description: string, attempts: number, delayMs: number): RestartStrategy {
  let restarts = 0;
  return {
    description,
    onFailure() {
      if (restarts >= attempts) return { restart: false, reason: `restart strategy ${description} exhausted after ${restarts} restarts` };
      restarts++;
      return { restart: true, delayMs };
    },
  };
}

/**
 * Like Flink's failure-rate strategy: a failure at time t is within the window at `now` when
 * now - t <= windowMs, the current failure included; more than maxFailures of them end the job.
 */
function failureRate(description: string, maxFailures: number, windowMs: number): RestartStrategy {
  // Oldest first; never more than maxFailures + 1 entries, since one more ends the job.
  const times: number[] = [];
  return {
    description,
    onFailure(now) {
      while (times.length > 0 && now - times[0]! > windowMs) times.shift();
      times.push(now);
      if (times.length > maxFailures) {
        const count = times.length;
        times.shift();
        return {
          restart: false,
          reason: `restart strategy ${description} exhausted: ${count} failures within ${windowMs} ms (at most ${maxFailures} allowed)`,
        };
      }
      return { restart: true, delayMs: FAILURE_RATE_DELAY_MS };
    },
  };
}

/**
 * Unlimited restarts, the delay doubling from the initial one up to the maximum. The healthy
 * period is measured from the end of the last restart delay (as Flink does), since the job was
 * not running while it waited.
 */
function exponentialDelay(description: string, random: () => number): RestartStrategy {
  let base = 0;
  let runningSince = -Infinity;
  return {
    description,
    onFailure(now) {
      base = now - runningSince >= EXPONENTIAL_RESET_MS ? EXPONENTIAL_INITIAL_DELAY_MS : Math.min(base * 2, EXPONENTIAL_MAX_DELAY_MS);
      const delayMs = Math.round(base * (1 + EXPONENTIAL_JITTER * (2 * random() - 1)));
      runningSince = now + delayMs;
      return { restart: true, delayMs };
    },
  };
}
