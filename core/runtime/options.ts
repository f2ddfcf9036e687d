import type { ExceptionEntry } from './failure-history.js';
import type { CheckpointStats } from '../checkpoint/coordinator.js';
import type { Failure } from '../failure.js';

/** What `runJob` takes and returns (and what the CLI fills from flags and EDDY_* variables). */

export type ConsistencyMode = 'exactly-once' | 'at-least-once' | 'none';

export interface RunOptions {
  /** Default parallelism of every operator without its own setParallelism. */
  parallelism?: number;
  /** Number of key groups (the upper bound of any rescale). Default 128. */
  maxParallelism?: number;
  /** How long a partly filled batch may wait before it is sent, in ms. Default 5. */
  bufferTimeoutMs?: number;
  /** Records per batch before it is sent. Default 512. */
  batchSize?: number;
  /** Bytes of each ring buffer (a power of two). Default 256 KiB. */
  ringCapacity?: number;
  /** Values for `env.arg(name)`. */
  args?: Record<string, string>;
  mode?: ConsistencyMode;
  checkpointIntervalMs?: number;
  stateBackend?: 'heap' | 'lmdb';
  checkpointDir?: string;
  /** Complete checkpoints kept in checkpointDir (older ones are deleted). Default 3. */
  retainedCheckpoints?: number;
  incremental?: boolean;
  /** Memory budget in MB of the LMDB state cache per keyed operator subtask. Default 256. */
  stateCacheMb?: number;
  /** Where LMDB environments live while the job runs (a fresh folder inside, removed at the end). Default: the OS temp dir. */
  localDir?: string;
  restart?: string;
  fromSavepoint?: string;
  /** Restore the newest complete checkpoint in checkpointDir ('latest') or checkpoint N. */
  resume?: 'latest' | number;
  /** With fromSavepoint/resume: skip state of operators the job no longer has (by uid). */
  allowNonRestoredState?: boolean;
  /** With resume latest: skip damaged newer checkpoints (each reported) instead of refusing. */
  fallbackToOlder?: boolean;
  /** Things the user should know that are not errors (skipped state, retained directories). */
  onWarning?: (message: string) => void;
  /** Called with one line for each failure that ends an attempt, when it happens (the CLI prints it). */
  onFailure?: (line: string) => void;
  /** Called once the job is addressable (its control endpoint is up). */
  onStart?: (info: { checkpointDir: string; restoredFrom?: { checkpointDir: string; checkpointId: number } }) => void;
  /** Called about every `progressIntervalMs` with live counters. */
  onProgress?: (progress: JobProgress) => void;
  progressIntervalMs?: number;
}

export interface OperatorMetrics {
  /** uid, or the generated name when the operator has none. */
  uid: string;
  name: string;
  /** 'source', 'sink', or the transformation ('map', 'flatMap', 'process', ...). */
  kind: string;
  parallelism: number;
  recordsIn: number;
  recordsOut: number;
}

export interface JobProgress {
  elapsedMs: number;
  operators: OperatorMetrics[];
}

/** How one keyed operator subtask got its state back after a failure. */
export interface StateRestore {
  uid: string;
  subtask: number;
  /** True when the local LMDB environment was reopened as it was (local recovery). */
  local: boolean;
  /** Keyed state files read from checkpoint storage (0 under local recovery). */
  filesRead: number;
}

export interface JobResult {
  durationMs: number;
  operators: OperatorMetrics[];
  /** Records that reached each collecting sink, by the sink's uid (or name). */
  collected: Record<string, unknown[]>;
  checkpointsCompleted: number;
  /** Checkpoints declined, timed out or failed to write (the job went on). */
  checkpointsFailed: number;
  /** Every completed checkpoint: duration, longest alignment, bytes. */
  checkpoints: CheckpointStats[];
  restarts: number;
  /** The failure behind each restart, in order. */
  failures: Failure[];
  /** Every failure that ended an attempt: when, code, operator uid, subtask, attempt, message, stack. */
  exceptions: ExceptionEntry[];
  /** Every keyed-state restore of every attempt (empty when nothing was restored). */
  stateRestores?: StateRestore[];
  /** True when the job was stopped by its AbortSignal (Ctrl-C) rather than running out of input. */
  cancelled: boolean;
  /** Savepoints taken while the job ran (their directories). */
  savepoints: string[];
  /** Set when `eddy stop --with-savepoint` ended the job: that savepoint's directory. */
  stoppedWithSavepoint?: string;
  /** The savepoint or checkpoint the run started from. */
  restoredFrom?: { checkpointDir: string; checkpointId: number };
}
