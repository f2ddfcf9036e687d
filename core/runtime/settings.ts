/**
 * One place that decides every job setting: command-line flags (RunOptions) override EDDY_*
 * variables, which override what the job module set on its environment, which overrides the
 * defaults. The result travels to every worker, so all threads run with the same values.
 */
import type { JobSettings } from '../api/environment.js';
import { DEFAULT_RING_CAPACITY } from '../channel/layout.js';
import { EddyError } from '../failure.js';
import { DEFAULT_MAX_PARALLELISM, MAX_MAX_PARALLELISM } from '../state/key-groups.js';
import { DEFAULT_STATE_CACHE_MB } from '../state/lmdb/cache-budget.js';
import type { RunOptions } from './options.js';
import type { ConsistencyMode } from '../contract/consistency.js';

export interface ResolvedSettings {
  parallelism: number;
  maxParallelism: number;
  bufferTimeoutMs: number;
  batchSize: number;
  ringCapacity: number;
  mode: ConsistencyMode;
  checkpointIntervalMs: number;
  stateBackend: 'heap' | 'lmdb';
  /** Checkpoints hold only the changes since the previous one (chains compacted past a bound). */
  incremental: boolean;
  /** Memory budget of the LMDB backend's write-behind cache, per keyed operator subtask. */
  stateCacheMb: number;
  /** LMDB barriers write back so a restarted task can reopen its environment (off by default, as in Flink). */
  localRecovery: boolean;
  /** Unaligned checkpoints: barriers overtake in-flight data, which is stored with the checkpoint. */
  unaligned: boolean;
  /** With unaligned: start aligned, switch after this many ms (undefined or 0: unaligned from the start). */
  alignedCheckpointTimeoutMs?: number;
  /** Buffer debloating: each consumer keeps about this many ms of its throughput in flight (undefined: off). */
  bufferDebloatTargetMs?: number;
  /** The final checkpoint keeps keyed state (RunOptions.keepFinalKeyedState); absent: it does not. */
  keepFinalKeyedState?: boolean;
}

export const DEFAULT_BUFFER_TIMEOUT_MS = 5;
/**
 * Records per frame. 2048, not 512: every frame pays a fixed cost on both sides (encode set-up,
 * reserve/publish, poll, payload view, decode set-up, release and now and then a wake-up);
 * at 2048 the keyed-count bench (p1, exactly-once 1 s, `--suite keyed-count`) spent 13% less
 * CPU per record (commit 4861136, against the same run at 512). A partial
 * batch still leaves after the buffer timeout, so latency at low rates is unchanged.
 */
export const DEFAULT_BATCH_SIZE = 2048;
export const DEFAULT_CHECKPOINT_INTERVAL_MS = 1000;

export function resolveSettings(job: JobSettings, overrides: RunOptions): ResolvedSettings {
  const s: ResolvedSettings = {
    parallelism: overrides.parallelism ?? job.parallelism ?? 1,
    maxParallelism: overrides.maxParallelism ?? job.maxParallelism ?? DEFAULT_MAX_PARALLELISM,
    bufferTimeoutMs: overrides.bufferTimeoutMs ?? job.bufferTimeoutMs ?? DEFAULT_BUFFER_TIMEOUT_MS,
    batchSize: overrides.batchSize ?? DEFAULT_BATCH_SIZE,
    ringCapacity: overrides.ringCapacity ?? DEFAULT_RING_CAPACITY,
    mode: overrides.mode ?? job.mode ?? (overrides.checkpointIntervalMs ? 'exactly-once' : 'none'),
    checkpointIntervalMs: overrides.checkpointIntervalMs ?? job.checkpointIntervalMs ?? 0,
    stateBackend: overrides.stateBackend ?? 'heap',
    incremental: overrides.incremental ?? false,
    stateCacheMb: overrides.stateCacheMb ?? DEFAULT_STATE_CACHE_MB,
    localRecovery: overrides.localRecovery ?? false,
    unaligned: (overrides.unaligned ?? false) || overrides.alignedCheckpointTimeoutMs !== undefined,
  };
  // Only when given: workers re-resolve from these settings, and a default would read as given.
  if (overrides.alignedCheckpointTimeoutMs !== undefined) s.alignedCheckpointTimeoutMs = overrides.alignedCheckpointTimeoutMs;
  if (overrides.bufferDebloatTargetMs !== undefined) s.bufferDebloatTargetMs = overrides.bufferDebloatTargetMs;
  if (overrides.keepFinalKeyedState === true) s.keepFinalKeyedState = true;
  if (s.unaligned && s.mode !== 'exactly-once') {
    const flag = overrides.alignedCheckpointTimeoutMs !== undefined ? '--aligned-checkpoint-timeout' : '--unaligned';
    throw new EddyError(
      'BAD_FLAG',
      `${flag} needs --mode exactly-once (got ${s.mode}): unaligned checkpoints store in-flight data, which only exactly-once replays`,
    );
  }
  if (s.maxParallelism > MAX_MAX_PARALLELISM) {
    throw new EddyError('BAD_FLAG', `max parallelism must be at most ${MAX_MAX_PARALLELISM}, got ${s.maxParallelism}`);
  }
  if (s.parallelism > s.maxParallelism) {
    throw new EddyError(
      'BAD_FLAG',
      `parallelism ${s.parallelism} is larger than max parallelism ${s.maxParallelism}; raise --max-parallelism`,
    );
  }
  // A consistency mode without an interval checkpoints every second (Flink needs an
  // interval to enable checkpointing; a mode flag alone says the user wants it on).
  if (s.mode !== 'none' && s.checkpointIntervalMs === 0) s.checkpointIntervalMs = DEFAULT_CHECKPOINT_INTERVAL_MS;
  if (s.mode === 'none') s.checkpointIntervalMs = 0;
  return s;
}
