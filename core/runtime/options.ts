import type { ParseCounts } from '../connectors/sources/line-parsing.js';
import type { ExceptionEntry } from '../observe/failure-history.js';
import type { CheckpointStats } from '../checkpoint/coordinator.js';
import type { CheckpointDeclineCode } from '../checkpoint/decline.js';
import type { Failure } from '../failure.js';
import type { ConsistencyMode } from '../contract/consistency.js';

/** What `runJob` takes and returns (and what the CLI fills from flags and EDDY_* variables). */

/** How to run a job: what `runJob` takes (the CLI fills it from flags and EDDY_* variables). */
export interface RunOptions {
  /** Default parallelism of every operator without its own setParallelism. */
  parallelism?: number;
  /** Number of key groups (the upper bound of any rescale). Default 128. */
  maxParallelism?: number;
  /** How long a partly filled batch may wait before it is sent, in ms. Default 5. */
  bufferTimeoutMs?: number;
  /** Records per batch before it is sent. Default 2048 (DEFAULT_BATCH_SIZE: why not 512). */
  batchSize?: number;
  /**
   * The final checkpoint of a bounded job keeps keyed state as a periodic one does. Default
   * false: its operators have finished and their keyed state is not kept (Flink's fully
   * finished operators). For inspecting what operators hold at the end of input (tests).
   */
  keepFinalKeyedState?: boolean;
  /** Bytes of each ring buffer (a power of two). Default 256 KiB. */
  ringCapacity?: number;
  /** Values for `env.arg(name)`. */
  args?: Record<string, string>;
  /** Checkpointing mode (`--mode`); with an interval and no mode, exactly-once. */
  mode?: ConsistencyMode;
  /** Checkpoint every this many ms (`--checkpoint-interval`). */
  checkpointIntervalMs?: number;
  /** Where keyed state lives: on the heap (default) or in LMDB (`--state`). */
  stateBackend?: 'heap' | 'lmdb';
  /** Where `chk-N/` folders go (`--checkpoint-dir`); default a temporary folder. */
  checkpointDir?: string;
  /** Complete checkpoints kept in checkpointDir (older ones are deleted). Default 3. */
  retainedCheckpoints?: number;
  /** Incremental checkpoints: only keys changed since the last one (`--incremental`). */
  incremental?: boolean;
  /** Unaligned checkpoints (exactly-once only): barriers overtake in-flight data, stored with the checkpoint. */
  unaligned?: boolean;
  /** Checkpoints start aligned and switch to unaligned after this many ms (0: always unaligned). Implies unaligned checkpoints. */
  alignedCheckpointTimeoutMs?: number;
  /**
   * Buffer debloating (`--buffer-debloat-target`, off by default as in Flink): each consumer keeps
   * only about this many ms of its measured throughput in its input rings, so even aligned
   * checkpoints under backpressure take about twice this.
   */
  bufferDebloatTargetMs?: number;
  /** Memory budget in MB of the LMDB state cache per keyed operator subtask. Default 256. */
  stateCacheMb?: number;
  /** Where LMDB environments live while the job runs (a fresh folder inside, removed at the end). Default: the OS temp dir. */
  localDir?: string;
  /**
   * Local recovery of LMDB state (`--local-recovery`, Flink's `state.backend.local-recovery`; off
   * by default, as there): every barrier writes the changed state back to the task's LMDB
   * environment, so a task restarted in this process reopens it instead of reading the
   * checkpoint's files. Off, barriers do not write LMDB and restores read checkpoint storage.
   */
  localRecovery?: boolean;
  /** Restart strategy (`--restart`): `fixed:ATTEMPTS:DELAY_MS`, `exponential`, `failure-rate:N:WINDOW_MS` or `none`. */
  restart?: string;
  /** Start from this savepoint (or retained checkpoint) directory (`--from-savepoint`). */
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
  /**
   * Serve the live dashboard, REST API and Prometheus `/metrics` on this port of 127.0.0.1
   * (0 picks a free port). Off when undefined.
   */
  webUi?: number;
  /** The dashboard's bind address; only loopback addresses are accepted. Default 127.0.0.1. */
  webUiHost?: string;
  /** Called with the dashboard's URL once it listens. */
  onWebUi?: (url: string) => void;
  /** Called about every `progressIntervalMs` with live counters. */
  onProgress?: (progress: JobProgress) => void;
  /** How often onProgress is called, in ms (default 250). */
  progressIntervalMs?: number;
}

/** Counters of one operator, summed over its parallel subtasks. */
export interface OperatorMetrics {
  /** uid, or the generated name when the operator has none. */
  uid: string;
  /** Its display name (`.name(...)`, else the kind). */
  name: string;
  /** 'source', 'sink', or the transformation ('map', 'flatMap', 'process', ...). */
  kind: string;
  /** Number of parallel subtasks. */
  parallelism: number;
  /** Records received (of the running attempt). */
  recordsIn: number;
  /** Records emitted (of the running attempt). */
  recordsOut: number;
  /** Line-parsing sources (jsonLines, csv): lines parsed, skipped and dead-lettered, over the job. */
  parse?: ParseCounts;
}

/** Live counters while a job runs, for `onProgress`. */
export interface JobProgress {
  /** Time since the job started, in ms. */
  elapsedMs: number;
  /** Every operator's counters. */
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

/** What `runJob` resolves with when a job ends (finished, cancelled or stopped with a savepoint). */
export interface JobResult {
  /** Wall-clock time of the whole run, in ms. */
  durationMs: number;
  /** Every operator's counters (of the last attempt), and parse counts of parsing sources. */
  operators: OperatorMetrics[];
  /** Records that reached each collecting sink, by the sink's uid (or name). */
  collected: Record<string, unknown[]>;
  /** Checkpoints that completed (every task acknowledged, metadata durable). */
  checkpointsCompleted: number;
  /** Checkpoints declined, timed out or failed to write (the job went on). */
  checkpointsFailed: number;
  /** The failed checkpoints by reason code (timeout, snapshot-write-failed, ...). */
  checkpointsFailedByReason: Partial<Record<CheckpointDeclineCode, number>>;
  /** Every completed checkpoint: duration, longest alignment, bytes. */
  checkpoints: CheckpointStats[];
  /** Failures the job recovered from by a restart. */
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
