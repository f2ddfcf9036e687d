/**
 * Validators for the values of run options, shared by the command line (`--parallelism 4`)
 * and the environment (`EDDY_PARALLELISM=4`), so that both accept exactly the same values and
 * reject bad ones with the same one-line message:
 *
 *   --parallelism must be a positive integer, got 'abc'
 *   EDDY_PARALLELISM must be a positive integer, got 'abc'
 *
 * Every validator takes the label to show (the flag or the variable name) and the raw string,
 * and returns the typed value or throws EddyError('BAD_FLAG').
 */

import { MIN_RING_CAPACITY } from '../channel/layout.js';
import { EddyError } from '../failure.js';
import { MAX_MAX_PARALLELISM } from '../state/key-groups.js';
import type { RunOptions } from './options.js';
import type { ConsistencyMode } from '../contract/consistency.js';

/** Largest ring we accept: the capacity is stored in an Int32 slot. */
export const MAX_RING_CAPACITY = 1 << 30;

export const MODES: readonly ConsistencyMode[] = ['exactly-once', 'at-least-once', 'none'];
export const STATE_BACKENDS: readonly NonNullable<RunOptions['stateBackend']>[] = ['heap', 'lmdb'];

/** Shows a raw value in a message: quoted, on one line, not too long. */
export function quote(raw: string): string {
  const oneLine = raw.replace(/[\r\n\t]+/g, ' ');
  return `'${oneLine.length > 60 ? `${oneLine.slice(0, 57)}...` : oneLine}'`;
}

function bad(label: string, expected: string, raw: string): EddyError {
  return new EddyError('BAD_FLAG', `${label} must be ${expected}, got ${quote(raw)}`);
}

function parseIntIn(label: string, raw: string, min: number, max: number, expected: string): number {
  const s = raw.trim();
  if (!/^\d+$/.test(s)) throw bad(label, expected, raw);
  const n = Number(s);
  if (!Number.isSafeInteger(n) || n < min) throw bad(label, expected, raw);
  if (n > max) throw bad(label, `at most ${max}`, raw);
  return n;
}

/** 1, 2, 3, ... */
export function parsePositiveInt(label: string, raw: string): number {
  return parseIntIn(label, raw, 1, Number.MAX_SAFE_INTEGER, 'a positive integer');
}

/** 0, 1, 2, ... */
export function parseNonNegativeInt(label: string, raw: string): number {
  return parseIntIn(label, raw, 0, Number.MAX_SAFE_INTEGER, 'a non-negative integer');
}

/** Default parallelism: 1 .. MAX_MAX_PARALLELISM. */
export function parseParallelism(label: string, raw: string): number {
  return parseIntIn(label, raw, 1, MAX_MAX_PARALLELISM, 'a positive integer');
}

/** Number of key groups: 1 .. MAX_MAX_PARALLELISM. */
export function parseMaxParallelism(label: string, raw: string): number {
  return parseIntIn(label, raw, 1, MAX_MAX_PARALLELISM, 'a positive integer');
}

/** A duration in milliseconds, > 0 (checkpoint interval). */
export function parsePositiveMillis(label: string, raw: string): number {
  return parseIntIn(label, raw, 1, Number.MAX_SAFE_INTEGER, 'a positive number of milliseconds');
}

/** A duration in milliseconds, >= 0 (buffer timeout: 0 flushes every record). */
export function parseNonNegativeMillis(label: string, raw: string): number {
  return parseIntIn(label, raw, 0, Number.MAX_SAFE_INTEGER, 'a non-negative number of milliseconds');
}

export function parseMode(label: string, raw: string): ConsistencyMode {
  const s = raw.trim() as ConsistencyMode;
  if (!MODES.includes(s)) throw bad(label, `one of ${MODES.join(', ')}`, raw);
  return s;
}

export function parseStateBackend(label: string, raw: string): 'heap' | 'lmdb' {
  const s = raw.trim() as 'heap' | 'lmdb';
  if (!STATE_BACKENDS.includes(s)) throw bad(label, `one of ${STATE_BACKENDS.join(', ')}`, raw);
  return s;
}

/** A non-empty path (it is not checked to exist here: the runtime names a missing one). */
export function parsePath(label: string, raw: string): string {
  if (raw.trim() === '') throw bad(label, 'a non-empty path', raw);
  return raw;
}

/** For environment variables only (a flag like --incremental takes no value). */
export function parseBoolean(label: string, raw: string): boolean {
  const s = raw.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(s)) return true;
  if (['0', 'false', 'no', 'off'].includes(s)) return false;
  throw bad(label, 'one of true, false, 1, 0, yes, no, on, off', raw);
}

/** `--resume latest` or `--resume N` (a checkpoint id). */
export function parseResume(label: string, raw: string): 'latest' | number {
  const t = raw.trim();
  if (t === 'latest') return 'latest';
  if (/^\d+$/.test(t) && Number.isSafeInteger(Number(t))) return Number(t);
  throw bad(label, "'latest' or a checkpoint id", raw);
}

/**
 * Ring capacity in bytes: a power of two >= MIN_RING_CAPACITY, written as plain bytes
 * (`262144`) or with a binary suffix (`256k`, `256KiB`, `1m`, `1MiB`).
 */
export function parseRingCapacity(label: string, raw: string): number {
  const expected = `a power of two of bytes between ${MIN_RING_CAPACITY} and ${MAX_RING_CAPACITY} (e.g. 262144 or 256k)`;
  const m = /^(\d+)\s*(k|kib|m|mib)?$/i.exec(raw.trim());
  if (!m) throw bad(label, expected, raw);
  const unit = (m[2] ?? '').toLowerCase();
  const n = Number(m[1]) * (unit.startsWith('k') ? 1024 : unit.startsWith('m') ? 1024 * 1024 : 1);
  if (!Number.isSafeInteger(n) || n < MIN_RING_CAPACITY || n > MAX_RING_CAPACITY || (n & (n - 1)) !== 0) {
    throw bad(label, expected, raw);
  }
  return n;
}

// ---- restart strategies ------------------------------------------------------------------

export type RestartSpec =
  | { kind: 'none' }
  /** Restart up to `attempts` times, waiting `delayMs` before each restart. */
  | { kind: 'fixed'; attempts: number; delayMs: number }
  /** Restart forever with a growing delay (the runtime chooses the backoff). */
  | { kind: 'exponential' }
  /** Give up when more than `maxFailures` failures happen within `windowMs`. */
  | { kind: 'failure-rate'; maxFailures: number; windowMs: number };

export const RESTART_SYNTAX = 'fixed:ATTEMPTS:DELAY_MS, exponential, failure-rate:N:WINDOW_MS or none';

/**
 * Parses `fixed:ATTEMPTS:DELAY_MS | exponential | failure-rate:N:WINDOW_MS | none`.
 * The runtime may use this too, so that the CLI and the engine read a spec the same way.
 */
export function parseRestartSpec(label: string, raw: string): RestartSpec {
  const s = raw.trim();
  const fail = (): EddyError => bad(label, RESTART_SYNTAX, raw);
  const parts = s.split(':');
  const int = (p: string, min: number): number => {
    if (!/^\d+$/.test(p)) throw fail();
    const n = Number(p);
    if (!Number.isSafeInteger(n) || n < min) throw fail();
    return n;
  };
  switch (parts[0]) {
    case 'none':
      if (parts.length !== 1) throw fail();
      return { kind: 'none' };
    case 'exponential':
      if (parts.length !== 1) throw fail();
      return { kind: 'exponential' };
    case 'fixed':
      if (parts.length !== 3) throw fail();
      return { kind: 'fixed', attempts: int(parts[1]!, 0), delayMs: int(parts[2]!, 0) };
    case 'failure-rate':
      if (parts.length !== 3) throw fail();
      return { kind: 'failure-rate', maxFailures: int(parts[1]!, 1), windowMs: int(parts[2]!, 1) };
    default:
      throw fail();
  }
}

/** Validates a restart spec and returns it in normal form (trimmed), as RunOptions carries it. */
export function parseRestart(label: string, raw: string): string {
  parseRestartSpec(label, raw);
  return raw.trim();
}

// ---- the table of value options that both the CLI and the environment can set -------------

type ValueKey = {
  [K in keyof RunOptions]-?: NonNullable<RunOptions[K]> extends string | number | boolean ? K : never;
}[keyof RunOptions];

export interface ValueOption {
  key: ValueKey;
  /** Long flag name without dashes, e.g. 'parallelism'; the CLI flag is `--${flag}`. */
  flag: string;
  /** The environment variable, when the option can come from the environment. */
  env?: string;
  /** What follows the flag in the help text, e.g. 'N'; undefined for a flag without value. */
  metavar?: string;
  /** What the value must be, for "--parallelism expects a value: ..." */
  expects: string;
  help: string;
  parse(label: string, raw: string): string | number | boolean;
}

/**
 * The options shared by flags and EDDY_* variables, in help order. (`--arg`, `--no-progress`
 * and `--help` are CLI-only and handled in core/cli/args.ts.)
 */
export const VALUE_OPTIONS: readonly ValueOption[] = [
  {
    key: 'parallelism',
    flag: 'parallelism',
    env: 'EDDY_PARALLELISM',
    metavar: 'N',
    expects: 'a positive integer',
    help: 'default parallelism of every operator',
    parse: parseParallelism,
  },
  {
    key: 'maxParallelism',
    flag: 'max-parallelism',
    env: 'EDDY_MAX_PARALLELISM',
    metavar: 'N',
    expects: 'a positive integer',
    help: 'number of key groups, the upper bound of any rescale (default 128)',
    parse: parseMaxParallelism,
  },
  {
    key: 'mode',
    flag: 'mode',
    env: 'EDDY_MODE',
    metavar: 'MODE',
    expects: MODES.join(', '),
    help: `checkpointing guarantee: ${MODES.join(' | ')}`,
    parse: parseMode,
  },
  {
    key: 'checkpointIntervalMs',
    flag: 'checkpoint-interval',
    env: 'EDDY_CHECKPOINT_INTERVAL',
    metavar: 'MS',
    expects: 'a positive number of milliseconds',
    help: 'trigger a checkpoint every MS milliseconds',
    parse: parsePositiveMillis,
  },
  {
    key: 'stateBackend',
    flag: 'state',
    env: 'EDDY_STATE',
    metavar: 'BACKEND',
    expects: STATE_BACKENDS.join(', '),
    help: 'keyed state backend: heap | lmdb',
    parse: parseStateBackend,
  },
  {
    key: 'checkpointDir',
    flag: 'checkpoint-dir',
    env: 'EDDY_CHECKPOINT_DIR',
    metavar: 'DIR',
    expects: 'a directory',
    help: 'where checkpoints are written (chk-N/ folders)',
    parse: parsePath,
  },
  {
    key: 'retainedCheckpoints',
    flag: 'retained-checkpoints',
    env: 'EDDY_RETAINED_CHECKPOINTS',
    metavar: 'N',
    expects: 'a positive integer',
    help: 'complete checkpoints kept in --checkpoint-dir (default 3; savepoints are never deleted)',
    parse: parsePositiveInt,
  },
  {
    key: 'incremental',
    flag: 'incremental',
    env: 'EDDY_INCREMENTAL',
    expects: 'true or false',
    help: 'incremental snapshots (only the changes since the last checkpoint)',
    parse: parseBoolean,
  },
  {
    key: 'unaligned',
    flag: 'unaligned',
    env: 'EDDY_UNALIGNED',
    expects: 'true or false',
    help: 'unaligned checkpoints: barriers overtake in-flight data, stored with the checkpoint (exactly-once)',
    parse: parseBoolean,
  },
  {
    key: 'alignedCheckpointTimeoutMs',
    flag: 'aligned-checkpoint-timeout',
    env: 'EDDY_ALIGNED_CHECKPOINT_TIMEOUT',
    metavar: 'MS',
    expects: 'a non-negative number of milliseconds',
    help: 'checkpoints start aligned and switch to unaligned after MS ms (0: always unaligned)',
    parse: parseNonNegativeMillis,
  },
  {
    key: 'bufferDebloatTargetMs',
    flag: 'buffer-debloat-target',
    env: 'EDDY_BUFFER_DEBLOAT_TARGET',
    metavar: 'MS',
    expects: 'a positive number of milliseconds',
    help: "buffer debloating: keep about MS ms of each consumer's throughput in its input rings (default off)",
    parse: parsePositiveMillis,
  },
  {
    key: 'stateCacheMb',
    flag: 'state-cache-mb',
    env: 'EDDY_STATE_CACHE_MB',
    metavar: 'MB',
    expects: 'a positive integer',
    help: 'LMDB state cache budget per keyed operator subtask, in MB (default 256)',
    parse: parsePositiveInt,
  },
  {
    key: 'localDir',
    flag: 'local-dir',
    env: 'EDDY_LOCAL_DIR',
    metavar: 'DIR',
    expects: 'a directory',
    help: 'where LMDB state lives while the job runs (default: the OS temp dir)',
    parse: parsePath,
  },
  {
    key: 'localRecovery',
    flag: 'local-recovery',
    env: 'EDDY_LOCAL_RECOVERY',
    expects: 'true or false',
    help: 'LMDB barriers write state back so a restarted task reopens it instead of reading the checkpoint (default off)',
    parse: parseBoolean,
  },
  {
    key: 'restart',
    flag: 'restart',
    env: 'EDDY_RESTART',
    metavar: 'SPEC',
    expects: RESTART_SYNTAX,
    help: 'restart strategy: fixed:ATTEMPTS:DELAY_MS | exponential | failure-rate:N:WINDOW_MS | none',
    parse: parseRestart,
  },
  {
    key: 'fromSavepoint',
    flag: 'from-savepoint',
    metavar: 'PATH',
    expects: 'a savepoint path',
    help: 'start from this savepoint',
    parse: parsePath,
  },
  {
    key: 'resume',
    flag: 'resume',
    metavar: 'latest|N',
    expects: "'latest' or a checkpoint id",
    help: 'restore the newest complete checkpoint (or checkpoint N) in --checkpoint-dir',
    parse: parseResume,
  },
  {
    key: 'allowNonRestoredState',
    flag: 'allow-non-restored-state',
    expects: 'true or false',
    help: 'with --from-savepoint/--resume: drop state of operators the job no longer has',
    parse: parseBoolean,
  },
  {
    key: 'fallbackToOlder',
    flag: 'fallback-to-older',
    expects: 'true or false',
    help: 'with --resume latest: skip damaged newer checkpoints (reported) instead of refusing',
    parse: parseBoolean,
  },
  {
    key: 'bufferTimeoutMs',
    flag: 'buffer-timeout',
    env: 'EDDY_BUFFER_TIMEOUT',
    metavar: 'MS',
    expects: 'a non-negative number of milliseconds',
    help: 'send a partly filled batch after MS milliseconds (default 5)',
    parse: parseNonNegativeMillis,
  },
  {
    key: 'ringCapacity',
    flag: 'ring-capacity',
    metavar: 'BYTES',
    expects: 'a power of two of bytes (e.g. 262144 or 256k)',
    help: 'bytes of each channel ring buffer (default 256k)',
    parse: parseRingCapacity,
  },
  {
    key: 'webUi',
    flag: 'web-ui',
    env: 'EDDY_WEB_UI',
    metavar: 'PORT',
    expects: 'a port number (0 picks a free one)',
    help: 'serve the live dashboard, REST API and /metrics on 127.0.0.1:PORT (0: a free port; the URL is printed)',
    parse: parsePort,
  },
  {
    key: 'webUiHost',
    flag: 'web-ui-host',
    metavar: 'HOST',
    expects: 'a loopback address',
    help: 'the dashboard bind address: 127.0.0.1 (default), ::1 or localhost; nothing else (it has no login)',
    parse: parseLoopbackHost,
  },
];

/** 0 .. 65535 (0: the system picks a free port). */
export function parsePort(label: string, raw: string): number {
  return parseIntIn(label, raw, 0, 65535, 'a port number (0-65535; 0 picks a free one)');
}

/** The dashboard has no login: it listens on loopback only. */
export function parseLoopbackHost(label: string, raw: string): string {
  const host = raw.trim();
  if (host === '127.0.0.1' || host === '::1' || host === 'localhost') return host;
  throw new EddyError(
    'BAD_FLAG',
    `${label} must be a loopback address (127.0.0.1, ::1 or localhost), got ${quote(raw)}: the dashboard has no login, reach it from elsewhere through an SSH tunnel`,
  );
}

/** Sets one validated value on `options` (the table's keys are all scalar). */
export function setOption(options: RunOptions, key: ValueKey, value: string | number | boolean): void {
  (options as Record<string, unknown>)[key] = value;
}

/**
 * Checks of one option against another, after flags and environment are merged. `labels`
 * names where each value came from (the flag or the variable) for the message.
 */
export function checkCombination(options: RunOptions, labels: Partial<Record<keyof RunOptions, string>>): void {
  if (options.fromSavepoint !== undefined && options.resume !== undefined) {
    throw new EddyError(
      'BAD_FLAG',
      `${labels.fromSavepoint ?? '--from-savepoint'} and ${labels.resume ?? '--resume'} cannot be used together`,
    );
  }
  if (options.parallelism !== undefined && options.maxParallelism !== undefined && options.parallelism > options.maxParallelism) {
    throw new EddyError(
      'BAD_FLAG',
      `${labels.parallelism ?? '--parallelism'} ${options.parallelism} is larger than ` +
        `${labels.maxParallelism ?? '--max-parallelism'} ${options.maxParallelism} (the number of key groups)`,
    );
  }
}
