/**
 * One run of a bench job through the engine, checked: a benchmark figure from a run that lost
 * records, restarted or was cancelled would be meaningless, so such a run throws.
 */
import { fileURLToPath } from 'node:url';
import { runJob } from '../core/index.js';
import type { JobResult, RunOptions } from '../core/runtime/options.js';

export const KEYED_COUNT_JOB = fileURLToPath(new URL('../../bench/jobs/keyed-count.mjs', import.meta.url));

/** Runs `job` and checks that operator `countedUid` saw exactly `records` records over all its subtasks. */
export async function runChecked(job: string, options: RunOptions, records: number, countedUid = 'count'): Promise<JobResult> {
  const res = await runJob(job, options);
  const what = `${job.split('/').pop()} (${options.mode ?? 'none'}, parallelism ${options.parallelism ?? 1})`;
  if (res.restarts !== 0)
    throw new Error(`${what}: the job restarted ${res.restarts} time(s): ${res.failures.map((f) => f.message).join('; ')}`);
  if (res.cancelled) throw new Error(`${what}: the job was cancelled`);
  const counted = res.operators.filter((o) => o.uid === countedUid).reduce((n, o) => n + o.recordsIn, 0);
  if (counted !== records) throw new Error(`${what}: '${countedUid}' saw ${counted} of ${records} records`);
  return res;
}

/** Keyed count (generator → keyBy → count → discard); records/s over the whole job (deploy and teardown included). */
export async function keyedCountRate(
  records: number,
  keys: number,
  options: RunOptions = {},
): Promise<{ recordsPerSec: number; result: JobResult }> {
  const result = await runChecked(KEYED_COUNT_JOB, { ...options, args: { count: String(records), keys: String(keys) } }, records);
  return { recordsPerSec: records / (result.durationMs / 1000), result };
}
