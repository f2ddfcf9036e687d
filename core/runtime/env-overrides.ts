/**
 * EDDY_* environment variables → RunOptions. They override the job's own settings and are
 * overridden by command-line flags (core/cli/args.ts merges them). Values go through the same
 * validators as the flags (core/runtime/option-values.ts); a bad value is a BAD_FLAG error
 * naming the variable:
 *
 *   EDDY_PARALLELISM must be a positive integer, got 'x'
 *
 * An empty variable (`EDDY_MODE=`) counts as unset.
 */

import type { RunOptions } from './options.js';
import { checkCombination, setOption, VALUE_OPTIONS } from './option-values.js';

/** The variables read, in order (for help texts and docs). */
export const ENV_VARIABLES: readonly string[] = VALUE_OPTIONS.flatMap((o) => (o.env ? [o.env] : []));

export function readEnvOverrides(env: NodeJS.ProcessEnv): RunOptions {
  const options: RunOptions = {};
  const labels: Partial<Record<keyof RunOptions, string>> = {};
  for (const opt of VALUE_OPTIONS) {
    if (!opt.env) continue;
    const raw = env[opt.env];
    if (raw === undefined || raw === '') continue;
    setOption(options, opt.key, opt.parse(opt.env, raw));
    labels[opt.key] = opt.env;
  }
  checkCombination(options, labels);
  return options;
}
