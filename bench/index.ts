/**
 * The benchmark suite: `npm run bench [-- --quick] [-- --suite NAME]`. Every figure is reported
 * next to a baseline measured in the same run, and each invocation writes one JSON file to
 * bench/results/ with the data of every suite it ran (command line, node version, date, raw runs).
 *
 * Suites: `keyed-count` (engine at parallelism 1 against the two-thread loop),
 * `checkpoint-modes` (none / at-least-once / exactly-once at several checkpoint intervals) and
 * `windows` (tumbling and sliding event-time window aggregation next to the plain keyed count).
 * Without --suite, all of them run.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { benchCheckpointModes, formatCheckpointModes, type CheckpointModesResult } from './checkpoint-modes.js';
import { benchKeyedCount, type KeyedCountResult } from './pipeline-keyed-count.js';
import { benchWindows, type WindowsResult } from './windows.js';

const SUITES = ['keyed-count', 'checkpoint-modes', 'windows'] as const;
type Suite = (typeof SUITES)[number];

const USAGE = `usage: node dist/bench/index.js [--quick] [--suite keyed-count|checkpoint-modes|windows ...]
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
const results: { keyedCount?: KeyedCountResult; checkpointModes?: CheckpointModesResult; windows?: WindowsResult } = {};
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
    } else if (suite === 'windows') {
      const w = await benchWindows({ records: recordsFlag ?? (quick ? 500_000 : 3_000_000), keys: keysFlag ?? 10_000, rounds: roundsFlag ?? (quick ? 2 : 5) });
      results.windows = w;
      console.log('windowed count, parallelism 1 (generator with event time → keyBy → count → discard)');
      console.log(`  plain keyed count:              ${fmt(w.recordsPerSec.none)} records/s (median of ${w.rounds})`);
      console.log(`  tumbling 100 s window:          ${fmt(w.recordsPerSec.tumbling)} records/s (${(w.recordsPerSec.tumbling / w.recordsPerSec.none).toFixed(2)} of plain)`);
      console.log(`  sliding 100 s / 25 s windows:   ${fmt(w.recordsPerSec.sliding)} records/s (${(w.recordsPerSec.sliding / w.recordsPerSec.none).toFixed(2)} of plain)`);
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
