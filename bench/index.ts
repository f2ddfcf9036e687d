/**
 * The benchmark suite: `npm run bench [-- --quick] [-- --suite NAME]`. Every figure is reported
 * next to a baseline measured in the same run, and each invocation writes one JSON file to
 * bench/results/ with the data of every suite it ran (command line, node version, date, raw runs).
 *
 * Suites: `keyed-count` (engine at parallelism 1 against the two-thread loop),
 * `checkpoint-modes` (none / at-least-once / exactly-once at several checkpoint intervals) and
 * `state` (heap vs lmdb keyed count, full vs incremental checkpoints, restore vs local recovery).
 * Without --suite, all of them run.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { benchCheckpointModes, formatCheckpointModes, type CheckpointModesResult } from './checkpoint-modes.js';
import { benchKeyedCount, type KeyedCountResult } from './pipeline-keyed-count.js';
import { benchState, type StateBenchResult } from './state.js';

const SUITES = ['keyed-count', 'checkpoint-modes', 'state'] as const;
type Suite = (typeof SUITES)[number];

const USAGE = `usage: node dist/bench/index.js [--quick] [--suite keyed-count|checkpoint-modes|state ...]
  [--records N] [--keys N] [--rounds N]          (override the sizes of every suite run)
  [--parallelism N] [--intervals MS,MS,...]      (checkpoint-modes only; default 2 and 1000,100)`;

function fail(message: string): never {
  console.error(`bench: ${message}\n${USAGE}`);
  process.exit(2);
}

let parsed;
try {
  parsed = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      suite: { type: 'string', multiple: true },
      records: { type: 'string' },
      keys: { type: 'string' },
      rounds: { type: 'string' },
      parallelism: { type: 'string' },
      intervals: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
} catch (e) {
  fail((e as Error).message);
}
const { values } = parsed;
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const quick = values.quick!;

const positiveInt = (flag: string, s: string | undefined): number | undefined => {
  if (s === undefined) return undefined;
  const n = Number(s.replace(/_/g, ''));
  if (!Number.isSafeInteger(n) || n < 1) fail(`--${flag} must be a positive integer, got ${JSON.stringify(s)}`);
  return n;
};
const recordsFlag = positiveInt('records', values.records);
const keysFlag = positiveInt('keys', values.keys);
const roundsFlag = positiveInt('rounds', values.rounds);
const parallelism = positiveInt('parallelism', values.parallelism) ?? 2;
const intervalsMs = values.intervals === undefined ? [1000, 100] : values.intervals.split(',').map((s) => positiveInt('intervals', s.trim())!);

const requested = (values.suite ?? []).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
for (const s of requested) if (!(SUITES as readonly string[]).includes(s) && s !== 'all') fail(`unknown suite ${JSON.stringify(s)}`);
const suites: Suite[] = requested.length === 0 || requested.includes('all') ? [...SUITES] : SUITES.filter((s) => requested.includes(s));

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const started = new Date();
const results: { keyedCount?: KeyedCountResult; checkpointModes?: CheckpointModesResult; state?: StateBenchResult } = {};
const errors: Array<{ suite: Suite; message: string; stack?: string }> = [];

for (const suite of suites) {
  try {
    if (suite === 'keyed-count') {
      const kc = await benchKeyedCount({
        records: recordsFlag ?? (quick ? 500_000 : 3_000_000),
        keys: keysFlag ?? 10_000,
        rounds: roundsFlag ?? (quick ? 2 : 5),
      });
      results.keyedCount = kc;
      console.log('keyed count, parallelism 1 (generator → keyBy → count → discard)');
      console.log(`  engine:               ${fmt(kc.engineRecordsPerSec)} records/s (median of ${kc.rounds})`);
      console.log(`  two-thread baseline:  ${fmt(kc.baselineRecordsPerSec)} records/s (same ring + msgpackr + Map, no engine)`);
      console.log(`  engine / baseline:    ${kc.ratio.toFixed(2)}`);
    } else if (suite === 'state') {
      // --keys sets the state size of the checkpoint and restore parts (default 1M).
      results.state = await benchState(
        {
          keyCounts: quick ? [10_000, 100_000] : [100_000, 1_000_000],
          recordsPerKey: quick ? 2 : 5,
          rounds: roundsFlag ?? (quick ? 1 : 3),
          stateKeys: keysFlag ?? (quick ? 100_000 : 1_000_000),
          changedFractions: [0.001, 0.01, 0.1],
        },
        (line) => console.log(line),
      );
    } else {
      // Long enough that a 1000 ms interval sees several checkpoints per run at a few million
      // records/s (at 4M records the job ends before the first periodic checkpoint).
      const records = recordsFlag ?? (quick ? 1_000_000 : 20_000_000);
      const cm = await benchCheckpointModes({
        records,
        keys: keysFlag ?? 10_000,
        parallelism,
        rounds: roundsFlag ?? (quick ? 2 : 5),
        intervalsMs,
        warmupRecords: 200_000,
        onRun: (r, i, total) =>
          console.error(`  [${i}/${total}] round ${r.round + 1} ${r.config.padEnd(22)} ${fmt(r.recordsPerSec).padStart(12)} records/s  ${r.checkpoints.filter((k) => !k.final).length} checkpoints`),
      });
      results.checkpointModes = cm;
      for (const l of formatCheckpointModes(cm)) console.log(l);
    }
  } catch (e) {
    const err = e as Error;
    console.error(`bench: suite ${suite} failed: ${err.stack ?? err.message}`);
    errors.push({ suite, message: err.message, stack: err.stack });
  }
}

const dir = fileURLToPath(new URL('../../bench/results/', import.meta.url));
mkdirSync(dir, { recursive: true });
const file = `${dir}bench-${started.toISOString().replace(/[:.]/g, '-')}.json`;
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('EDDY_')));
writeFileSync(
  file,
  JSON.stringify(
    {
      command: ['node', ...process.execArgv, relative(process.cwd(), process.argv[1]), ...process.argv.slice(2)].join(' '),
      cwd: process.cwd(),
      argv: process.argv,
      execArgv: process.execArgv,
      node: process.version,
      date: started.toISOString(),
      finished: new Date().toISOString(),
      platform: `${process.platform} ${process.arch}`,
      cpus: { available: availableParallelism(), model: cpus()[0]?.model },
      tmpdir: tmpdir(),
      env,
      quick,
      suites,
      ...results,
      errors,
    },
    null,
    2,
  ),
);
console.log(`results: ${file}`);
if (errors.length > 0) process.exitCode = 1;
