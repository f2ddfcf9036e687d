/**
 * `eddy run JOB [flags]` → RunOptions.
 *
 * util.parseArgs does the tokenizing. We ask it for tokens (non-strict) and check each token
 * ourselves first, because its strict errors are several lines long and do not say what value
 * a flag expects; then a strict parse runs as a safety net. Every problem is one line naming
 * the flag and what it expects, as an EddyError with code BAD_FLAG (or BAD_ARG for --arg):
 *
 *   --parallelism must be a positive integer, got 'abc'
 *   unknown flag --paralelism (did you mean --parallelism?); see eddy run --help
 *
 * Flags are merged over the EDDY_* variables (flags win).
 */

import { parseArgs, type ParseArgsConfig } from 'node:util';

import { EddyError, messageOf } from '../failure.js';
import { readEnvOverrides } from '../runtime/env-overrides.js';
import type { RunOptions } from '../runtime/options.js';
import { checkCombination, quote, setOption, VALUE_OPTIONS, type ValueOption } from '../runtime/option-values.js';

export interface RunCommand {
  help: false;
  /** The job module as given on the command line (runJob resolves it against the cwd). */
  jobPath: string;
  options: RunOptions;
  /** false with --no-progress. */
  progress: boolean;
}

export type ParsedRun = { help: true } | RunCommand;

/** Flags that exist only on the command line. */
const CLI_ONLY = {
  arg: { type: 'string', multiple: true },
  'no-progress': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const PARSE_OPTIONS: NonNullable<ParseArgsConfig['options']> = {
  ...Object.fromEntries(
    VALUE_OPTIONS.map((o) => [o.flag, o.metavar === undefined ? { type: 'boolean' as const } : { type: 'string' as const }]),
  ),
  ...CLI_ONLY,
};

const BY_FLAG = new Map<string, ValueOption>(VALUE_OPTIONS.map((o) => [o.flag, o]));

export const RUN_USAGE = 'eddy run JOB [flags]';

export function runHelp(): string {
  const rows: [string, string][] = [];
  for (const o of VALUE_OPTIONS) {
    rows.push([`--${o.flag}${o.metavar ? ` ${o.metavar}` : ''}`, o.help + (o.env ? ` [${o.env}]` : '')]);
  }
  rows.push(['--arg KEY=VALUE', 'value for env.arg(KEY) in the job (repeatable)']);
  rows.push(['--no-progress', 'no live progress line on the terminal']);
  rows.push(['-h, --help', 'show this help']);
  const width = Math.max(...rows.map(([f]) => f.length)) + 2;
  return [
    `usage: ${RUN_USAGE}`,
    '',
    'Runs the job module JOB (.js, .mjs or .ts) whose default export is defineJob(...).',
    '',
    'flags:',
    ...rows.map(([f, h]) => `  ${f.padEnd(width)}${h}`),
    '',
    'Flags override the EDDY_* environment variables shown in brackets, which override the',
    "job's own settings.",
    '',
    'example:',
    '  eddy run examples/wordcount.ts --parallelism 2 \\',
    '    --arg input=examples/data/words.txt --arg output=out/wordcount',
  ].join('\n');
}

/** Edit distance (optimal string alignment), for "did you mean". */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  let prevPrev = prev;
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      // a swap of two neighbours ("rnu" for "run") counts as one edit
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) cur[j] = Math.min(cur[j]!, prevPrev[j - 2]! + 1);
    }
    prevPrev = prev;
    prev = cur;
  }
  return prev[b.length]!;
}

/** The closest of `candidates` to `word`, if it is close enough to be a likely typo. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = distance(word, c);
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best !== undefined && bestD <= Math.max(1, Math.floor(best.length / 3)) ? best : undefined;
}

function badFlag(message: string): EddyError {
  return new EddyError('BAD_FLAG', message);
}

function parseArgPair(raw: string, args: Record<string, string>): void {
  const eq = raw.indexOf('=');
  if (eq < 0) throw new EddyError('BAD_ARG', `--arg expects KEY=VALUE, got ${quote(raw)}`);
  const key = raw.slice(0, eq).trim();
  if (key === '') throw new EddyError('BAD_ARG', `--arg expects KEY=VALUE with a non-empty KEY, got ${quote(raw)}`);
  args[key] = raw.slice(eq + 1);
}

/**
 * Parses the arguments after `run`. `env` is where EDDY_* variables are read from (flags win
 * over them). Throws EddyError BAD_FLAG / BAD_ARG with one line.
 */
export function parseRunArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): ParsedRun {
  let tokens;
  try {
    ({ tokens } = parseArgs({ args: [...argv], options: PARSE_OPTIONS, strict: false, allowPositionals: true, tokens: true }));
  } catch (err) {
    throw badFlag(`${firstLine(err)}; see eddy run --help`);
  }

  // --help wins over every other problem: someone asking for help gets it.
  if (tokens.some((t) => t.kind === 'option' && t.name === 'help')) return { help: true };

  const flagOptions: RunOptions = {};
  const labels: Partial<Record<keyof RunOptions, string>> = {};
  const args: Record<string, string> = {};
  const positionals: string[] = [];
  let progress = true;

  for (const t of tokens) {
    if (t.kind === 'positional') {
      positionals.push(t.value);
      continue;
    }
    if (t.kind !== 'option') continue; // the `--` terminator
    const spec = PARSE_OPTIONS[t.name];
    if (!spec) {
      const hint = t.rawName.startsWith('--') ? closest(t.name, Object.keys(PARSE_OPTIONS)) : undefined;
      throw badFlag(`unknown flag ${t.rawName}${hint ? ` (did you mean --${hint}?)` : ''}; see eddy run --help`);
    }
    const valueOpt = BY_FLAG.get(t.name);
    if (spec.type === 'boolean') {
      if (t.value !== undefined) throw badFlag(`${t.rawName} takes no value, got ${quote(`${t.rawName}=${t.value}`)}`);
      if (t.name === 'no-progress') progress = false;
      else if (valueOpt) {
        setOption(flagOptions, valueOpt.key, true);
        labels[valueOpt.key] = t.rawName;
      }
      continue;
    }
    // A string flag. parseArgs (non-strict) takes the next argument as the value even when it
    // is another flag ("--parallelism --mode x"): that is a missing value, except for what
    // looks like a negative number, which goes to the validator ("got '-1'").
    const expects = valueOpt ? valueOpt.expects : 'KEY=VALUE';
    const looksLikeFlag = t.value !== undefined && !t.inlineValue && t.value.startsWith('-') && !/^-\d/.test(t.value);
    if (t.value === undefined || looksLikeFlag) {
      throw new EddyError(
        valueOpt ? 'BAD_FLAG' : 'BAD_ARG',
        `${t.rawName} expects a value (${expects})${looksLikeFlag ? `, got the flag ${quote(t.value!)}` : ''}`,
      );
    }
    if (t.name === 'arg') {
      parseArgPair(t.value, args);
      continue;
    }
    if (valueOpt) {
      setOption(flagOptions, valueOpt.key, valueOpt.parse(t.rawName, t.value));
      labels[valueOpt.key] = t.rawName;
    }
  }

  if (positionals.length === 0) throw badFlag(`missing JOB: ${RUN_USAGE}; see eddy run --help`);
  if (positionals.length > 1) {
    throw badFlag(
      `unexpected argument ${quote(positionals[1]!)} after JOB ${quote(positionals[0]!)}; ` + 'give job arguments as --arg KEY=VALUE',
    );
  }

  // Safety net: everything the token checks let through must also pass a strict parse.
  try {
    parseArgs({ args: [...argv], options: PARSE_OPTIONS, strict: true, allowPositionals: true });
  } catch (err) {
    throw badFlag(`${firstLine(err)}; see eddy run --help`);
  }

  checkCombination(flagOptions, labels);
  const fromEnv = readEnvOverrides(env);
  const options: RunOptions = { ...fromEnv, ...flagOptions };
  if (Object.keys(args).length > 0) options.args = args;
  // Combinations across the two sources, e.g. EDDY_MAX_PARALLELISM=4 with --parallelism 8.
  for (const o of VALUE_OPTIONS) {
    if (o.env && labels[o.key] === undefined && fromEnv[o.key] !== undefined) labels[o.key] = o.env;
  }
  checkCombination(options, labels);

  return { help: false, jobPath: positionals[0]!, options, progress };
}

function firstLine(err: unknown): string {
  const msg = messageOf(err);
  return msg.split('\n')[0]!.replace(/\.$/, '');
}
