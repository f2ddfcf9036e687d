/**
 * The settings a SQL session plans with, by Flink's keys: from `SET 'key' = 'value'` in the
 * script, and before the script from a configuration file (`--arg sql.conf=FILE`, lines
 * `key: value` as Flink's flink-conf.yaml) and from `--arg key=value` (which win over the file,
 * as Flink's -D over its file; a SET in the script wins over both).
 */
import { readFileSync } from 'node:fs';
import type { StreamExecutionEnvironment } from '../api/environment.js';
import { EddyError } from '../failure.js';
import type { BundleTrigger } from '../operators/keyed-bundle.js';

/** The `--arg` naming the configuration file. */
export const SQL_CONF_ARG = 'sql.conf';

/** What planning reads: idle-state TTL and mini-batch. */
export interface SqlSettings {
  /** Idle-state TTL of changelog operators (`table.exec.state.ttl`); undefined: kept forever. */
  ttlMs?: number;
  /** `table.exec.mini-batch.enabled` (off by default, as in Flink). */
  miniBatchEnabled: boolean;
  /** `table.exec.mini-batch.allow-latency` in ms. */
  miniBatchLatencyMs?: number;
  /** `table.exec.mini-batch.size` in records. */
  miniBatchSize?: number;
}

const MINI_BATCH = 'table.exec.mini-batch';

/** Every key eddy's SQL takes, in the order the help lists them. */
export const SETTING_KEYS = [
  'parallelism.default',
  'execution.checkpointing.interval',
  'table.exec.state.ttl',
  `${MINI_BATCH}.enabled`,
  `${MINI_BATCH}.allow-latency`,
  `${MINI_BATCH}.size`,
] as const;

/**
 * Applies one setting to `settings` (and the environment's parallelism and checkpointing);
 * `bad(message, unsupported)` makes the error: at a SET's line SQL_INVALID (UNSUPPORTED for an
 * unknown key), BAD_ARG for a file or an --arg.
 */
export function applySetting(
  settings: SqlSettings,
  env: StreamExecutionEnvironment,
  key: string,
  value: string,
  bad: (message: string, unsupported?: boolean) => Error,
): void {
  const n = Number(value);
  switch (key) {
    case 'parallelism.default':
      if (!Number.isInteger(n) || n < 1) throw bad(`'parallelism.default' must be a positive integer, got '${value}'`);
      env.setParallelism(n);
      return;
    case 'execution.checkpointing.interval': {
      const ms = durationMs(value) ?? NaN;
      if (!(ms > 0)) throw bad(`'execution.checkpointing.interval' must be milliseconds or 'Ns', got '${value}'`);
      env.enableCheckpointing(ms, env.settings.mode ?? 'exactly-once');
      return;
    }
    case 'table.exec.state.ttl': {
      const ms = durationMs(value);
      if (ms === undefined)
        throw bad(`'table.exec.state.ttl' must be a duration such as '1 h', '30 min', '10 s' or milliseconds, got '${value}'`);
      settings.ttlMs = ms > 0 ? ms : undefined;
      return;
    }
    case `${MINI_BATCH}.enabled`: {
      const v = value.trim().toLowerCase();
      if (v !== 'true' && v !== 'false') throw bad(`'${key}' must be 'true' or 'false', got '${value}'`);
      settings.miniBatchEnabled = v === 'true';
      return;
    }
    case `${MINI_BATCH}.allow-latency`: {
      const ms = durationMs(value);
      if (ms === undefined || !(ms > 0)) throw bad(`'${key}' must be a positive duration such as '2 s' or '500 ms', got '${value}'`);
      settings.miniBatchLatencyMs = ms;
      return;
    }
    case `${MINI_BATCH}.size`:
      if (!Number.isSafeInteger(n) || n < 1) throw bad(`'${key}' must be a positive integer number of rows, got '${value}'`);
      settings.miniBatchSize = n;
      return;
    default:
      throw bad(
        `setting '${key}' is not known to eddy's SQL (it takes ${SETTING_KEYS.map((k) => `'${k}'`).join(', ')}; other settings are run flags)`,
        true,
      );
  }
}

/**
 * The mini-batch trigger planning uses, or undefined when mini-batch is off. As in Flink, turning
 * it on needs both the latency and the size: `bad` names the one missing.
 */
export function miniBatchTrigger(settings: SqlSettings, bad: (message: string) => Error): BundleTrigger | undefined {
  if (!settings.miniBatchEnabled) return undefined;
  for (const [v, k] of [
    [settings.miniBatchLatencyMs, 'allow-latency'],
    [settings.miniBatchSize, 'size'],
  ] as const) {
    if (v === undefined)
      throw bad(`'${MINI_BATCH}.enabled' is 'true' but '${MINI_BATCH}.${k}' is not set; set both (the Nexmark reference: '2 s' and 50000)`);
  }
  return { latencyMs: settings.miniBatchLatencyMs!, size: settings.miniBatchSize! };
}

/** The settings before the script's first statement: the configuration file's, then the --arg ones. */
export function initialSettings(env: StreamExecutionEnvironment): SqlSettings {
  const settings: SqlSettings = { miniBatchEnabled: false };
  const file = env.arg(SQL_CONF_ARG, '');
  if (file !== '') {
    for (const [line, key, value] of readConf(file)) {
      applySetting(settings, env, key, value, (m) => new EddyError('BAD_ARG', `${file} line ${line}: ${m}`));
    }
  }
  for (const key of SETTING_KEYS) {
    const value = env.arg(key, '');
    if (value !== '') applySetting(settings, env, key, value, (m) => new EddyError('BAD_ARG', `--arg ${key}=${value}: ${m}`));
  }
  return settings;
}

/** `key: value` lines of a flat flink-conf.yaml; `#` starts a comment. */
function readConf(file: string): Array<[number, string, string]> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new EddyError(
      'INPUT_NOT_FOUND',
      `SQL configuration file '${file}' (--arg ${SQL_CONF_ARG}) cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)}); give the path of a file of 'key: value' lines`,
    );
  }
  const out: Array<[number, string, string]> = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/(^|\s)#.*$/, '').trim();
    if (line === '') return;
    const m = /^([A-Za-z0-9_.-]+)\s*:\s*(.*)$/.exec(line);
    if (!m) throw new EddyError('BAD_ARG', `${file} line ${i + 1}: expected 'key: value', got '${raw.trim()}'`);
    out.push([i + 1, m[1]!, m[2]!.replace(/^(['"])(.*)\1$/, '$2')]);
  });
  return out;
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, sec: 1000, min: 60_000, h: 3_600_000, d: 86_400_000 };

/** '1 h', '30 min', '10 s', '2s', '500 ms', '2 d' or plain milliseconds. */
export function durationMs(value: string): number | undefined {
  const m = /^\s*([0-9]+(?:\.[0-9]+)?)\s*([a-z]*)\s*$/i.exec(value);
  if (!m) return undefined;
  const unit = m[2]!.toLowerCase() || 'ms';
  const f = UNITS[unit] ?? UNITS[unit.replace(/s$/, '')];
  return f === undefined ? undefined : Number(m[1]) * f;
}
