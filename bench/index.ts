/**
 * The benchmark suite: `npm run bench [-- --quick] [-- --suite NAME ...]` or `eddy bench [...]`.
 * Every figure is reported next to a baseline measured in the same invocation. Each invocation
 * writes to bench/results/: bench-<date>.json (command line, node version, machine, raw runs),
 * bench-<date>.md (the readable report, with the issue's targets judged) and its SVG charts.
 *
 * Suites (all of them without --suite): micro, keyed-count, checkpoint-modes, backpressure,
 * latency, scaling, windows, state, nexmark, connectors, state-scale. They run one after another,
 * never two at once.
 */
import { positiveInt as positiveIntFlag } from './flags.js';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { benchBackpressure, formatBackpressure } from './backpressure.js';
import { benchCheckpointModes, formatCheckpointModes, type CheckpointModesResult } from './checkpoint-modes.js';
import { keyedCountRate } from './engine-run.js';
import { benchLatency, formatLatency } from './latency.js';
import { benchBarrier } from './micro/barrier.js';
import { benchCodec } from './micro/codec.js';
import { benchRing } from './micro/ring.js';
import { benchState } from './micro/state.js';
import type { MicroRow } from './micro/tiny.js';
import { benchKeyedCount, formatKeyedCount } from './pipeline-keyed-count.js';
import { buildReport } from './report/markdown.js';
import type { RunInfo, SuiteResults } from './report/results.js';
import { checkTargets } from './report/targets.js';
import { benchScaling, formatScaling } from './scaling.js';
import { benchWindows } from './windows.js';
import { benchConnectors, formatConnectors } from './connectors.js';
import { benchState as benchStateSuite } from './state.js';
import { benchNexmark, describeSqlConf, NEXMARK_QUERIES, REFERENCE_SQL_CONF } from './nexmark.js';

import { benchStateScale, formatStateScale } from './state-scale.js';

const SUITES = [
  'micro',
  'keyed-count',
  'checkpoint-modes',
  'backpressure',
  'latency',
  'scaling',
  'windows',
  'state',
  'nexmark',
  'connectors',
  'state-scale',
] as const;
type Suite = (typeof SUITES)[number];

const USAGE = `usage: npm run bench -- [--quick] [--suite ${SUITES.join('|')} ...]      (or: eddy bench [...])
  --quick                    a short run of every suite (about 1–2 minutes)
  --suite NAME               run only this suite (repeatable, or comma-separated)
  --records N --keys N --rounds N   override the sizes of the pipeline suites
  --web-ui                   keyed-count only: also run the parallelism-2 jobs with the dashboard on (and polled), for its cost
  --parallelism N            checkpoint-modes and nexmark (default 2)
  --intervals MS,MS,...      checkpoint-modes only (default 50,100,250,1000,10000; quick 50,100,1000)
  --events N                 nexmark only: events per run (default: sized so a run takes --seconds)
  --seconds S                nexmark only: target seconds per run without --events (default 2; quick 1)
  --queries q0,q5,...        nexmark only: the queries to run (default all, q0 … q22; quick q0,q5,q8)
  --rows WORD[,WORD]         state-scale and backpressure: the rows whose name holds every word (e.g. 'p1 heap';
                             backpressure 'unaligned': that row alone, without the comparison without backpressure)
  --rings KIB[,KIB]          backpressure only: the ring sizes in KiB (default 64,256,1024)
  --rate R                   nexmark only: events per second of event time (default 10,000,000)
  --rounds N                 nexmark: paired rounds per query and mode, DataStream and SQL alternating first (default 3; quick 2)
  --full-checkpoints         nexmark only: full checkpoints in the checkpointing modes (default incremental, as the
                             nexmark reference's flink-conf.yaml: state.backend.incremental: true)
  --no-sql                   nexmark only: leave out the SQL versions (examples/nexmark-sql) run beside each query
  --sql-conf FILE|none       nexmark only: the SQL runs' settings (default examples/nexmark-sql/sql-conf.yaml, the
                             reference's mini-batch 2 s / 50,000 rows; none: Flink's defaults, every change emitted)
Results: bench/results/bench-<date>.json, .md and .svg charts.`;

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
      'web-ui': { type: 'boolean', default: false },
      events: { type: 'string' },
      seconds: { type: 'string' },
      queries: { type: 'string' },
      rows: { type: 'string' },
      rings: { type: 'string' },
      rate: { type: 'string' },
      'no-sql': { type: 'boolean', default: false },
      'full-checkpoints': { type: 'boolean', default: false },
      'sql-conf': { type: 'string' },
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

const positiveInt = (flag: string, text: string | undefined): number | undefined => positiveIntFlag(flag, text, fail);
const recordsFlag = positiveInt('records', values.records);
const keys = positiveInt('keys', values.keys) ?? 10_000;
const roundsFlag = positiveInt('rounds', values.rounds);
const parallelism = positiveInt('parallelism', values.parallelism) ?? 2;
const intervalsMs =
  values.intervals === undefined
    ? quick
      ? [50, 100, 1000]
      : [50, 100, 250, 1000, 10_000]
    : values.intervals.split(',').map((s) => positiveInt('intervals', s.trim())!);

const requested = (values.suite ?? [])
  .flatMap((s) => s.split(','))
  .map((s) => s.trim())
  .filter(Boolean);
for (const s of requested) if (!(SUITES as readonly string[]).includes(s) && s !== 'all') fail(`unknown suite ${JSON.stringify(s)}`);
const suites: Suite[] = requested.length === 0 || requested.includes('all') ? [...SUITES] : SUITES.filter((s) => requested.includes(s));

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const started = new Date();
const loadAtStart = loadavg()[0];
const results: SuiteResults = {};
const errors: Array<{ suite: Suite; message: string; stack?: string }> = [];
const log = (lines: string[]) => console.log(lines.join('\n'));
/** Intervals up to this share one run length; longer ones get runs sized to see several checkpoints. */
const SHORT_INTERVAL_MAX_MS = 1000;
const CHECKPOINTS_PER_LONG_RUN = 4.5;

async function checkpointModes(): Promise<CheckpointModesResult[]> {
  const rounds = roundsFlag ?? (quick ? 2 : 3);
  const short = intervalsMs.filter((i) => i <= SHORT_INTERVAL_MAX_MS);
  const long = intervalsMs.filter((i) => i > SHORT_INTERVAL_MAX_MS);
  // Runs long enough for several checkpoints at the longest short interval, sized from the
  // measured rate (a fixed count went stale as the engine got faster: 20M records took 1.5 s).
  let records = recordsFlag ?? (quick ? 3_000_000 : 20_000_000);
  if (recordsFlag === undefined && !quick && short.length > 0) {
    // Warm first: the process's first job starts the threads, which would halve a short run's rate.
    await keyedCountRate(200_000, keys, { parallelism });
    const noneRate = (await keyedCountRate(5_000_000, keys, { parallelism })).recordsPerSec;
    records = Math.max(records, Math.ceil((noneRate * CHECKPOINTS_PER_LONG_RUN * Math.max(...short)) / 1000 / 1e6) * 1e6);
  }
  const onRun = (
    r: { round: number; config: string; recordsPerSec: number; checkpoints: { final: boolean }[] },
    i: number,
    total: number,
  ) =>
    console.error(
      `  [${i}/${total}] round ${r.round + 1} ${r.config.padEnd(24)} ${fmt(r.recordsPerSec).padStart(12)} records/s  ${r.checkpoints.filter((k) => !k.final).length} checkpoints`,
    );
  const groups: CheckpointModesResult[] = [];
  if (short.length) {
    groups.push(
      await benchCheckpointModes({
        records,
        keys,
        parallelism,
        rounds,
        intervalsMs: short,
        warmupRecords: 200_000,
        paced: { fraction: 0.5, seconds: quick ? 2 : 6 },
        onRun,
      }),
    );
    log(formatCheckpointModes(groups[0]));
  }
  for (const interval of long) {
    // Size the run from the measured rate of `none` so this interval sees several checkpoints.
    const noneRate =
      groups[0]?.configs.find((c) => c.mode === 'none')?.recordsPerSec ??
      (await keyedCountRate(2_000_000, keys, { parallelism })).recordsPerSec;
    const longRecords = recordsFlag ?? Math.ceil((noneRate * CHECKPOINTS_PER_LONG_RUN * interval) / 1000 / 1e6) * 1e6;
    const g = await benchCheckpointModes({
      records: longRecords,
      keys,
      parallelism,
      rounds: roundsFlag ?? 1,
      intervalsMs: [interval],
      warmupRecords: 0,
      onRun,
    });
    groups.push(g);
    log(formatCheckpointModes(g));
  }
  return groups;
}

const runners: Record<Suite, () => Promise<void>> = {
  micro: async () => {
    const t = quick ? 150 : 1000;
    const rows: MicroRow[] = [...(await benchRing(t)), ...(await benchCodec(t)), ...(await benchBarrier(t)), ...(await benchState(t))];
    results.micro = rows;
    for (const m of rows)
      console.log(
        `  ${m.group.padEnd(8)} ${m.name.padEnd(28)} ${fmt(m.unitsPerSec).padStart(14)} ${m.unit}/s  ${m.nsPerUnit.toFixed(1).padStart(9)} ns  ±${m.rme.toFixed(1)}%`,
      );
  },
  'keyed-count': async () => {
    results.keyedCount = await benchKeyedCount({
      records: recordsFlag ?? (quick ? 500_000 : 5_000_000),
      keys,
      rounds: roundsFlag ?? (quick ? 2 : 5),
      intervalMs: 1000,
      webUi: values['web-ui'],
    });
    log(formatKeyedCount(results.keyedCount));
  },
  'checkpoint-modes': async () => {
    results.checkpointModes = await checkpointModes();
  },
  backpressure: async () => {
    results.backpressure = await benchBackpressure(
      {
        records: recordsFlag ?? (quick ? 200_000 : 1_000_000),
        keys,
        spinUs: 5,
        ringCapacities: (values.rings?.split(',').map((s) => positiveInt('rings', s.trim())!) ?? [64, 256, 1024]).map((k) => k * 1024),
        intervalMs: 200,
        parallelism: 2,
        rounds: roundsFlag ?? (quick ? 1 : 3),
        freeRecords: quick ? 1_000_000 : 10_000_000,
        freeRounds: roundsFlag ?? (quick ? 2 : 5),
        select: values.rows,
      },
      (r) =>
        console.error(
          `  ${r.label.padEnd(24)} ring ${r.ringCapacity / 1024} KiB  ${fmt(r.recordsPerSec)} records/s  ${r.checkpoints} checkpoints`,
        ),
    );
    log(formatBackpressure(results.backpressure));
  },
  latency: async () => {
    results.latency = await benchLatency(
      {
        keys,
        maxRateRecords: quick ? 1_000_000 : 4_000_000,
        seconds: quick ? 1 : 4,
        fractions: [0.25, 0.5, 0.9],
        bufferTimeoutsMs: [1, 5, 20],
        warmupFraction: 0.1,
      },
      (r) => console.error(`  timeout ${r.bufferTimeoutMs} ms, ${Math.round(r.fraction * 100)}% of max: p99 ${r.p99Ms.toFixed(2)} ms`),
    );
    log(formatLatency(results.latency));
  },
  state: async () => {
    // --keys sets the state size of the checkpoint and restore parts (default 1M).
    results.state = await benchStateSuite(
      {
        keyCounts: quick ? [10_000, 100_000] : [100_000, 1_000_000],
        recordsPerKey: quick ? 2 : 5,
        rounds: roundsFlag ?? (quick ? 1 : 3),
        stateKeys: values.keys !== undefined ? keys : quick ? 100_000 : 1_000_000,
        changedFractions: [0.001, 0.01, 0.1],
      },
      (line) => console.log(line),
    );
  },
  windows: async () => {
    const w = await benchWindows({ records: recordsFlag ?? (quick ? 500_000 : 3_000_000), keys, rounds: roundsFlag ?? (quick ? 2 : 5) });
    results.windows = w;
    log([
      'windowed count, parallelism 1 (generator with event time → keyBy → window count → discard)',
      `  plain keyed count:              ${fmt(w.recordsPerSec.none)} records/s (median of ${w.rounds})`,
      `  tumbling 100 s window:          ${fmt(w.recordsPerSec.tumbling)} records/s (${(w.recordsPerSec.tumbling / w.recordsPerSec.none).toFixed(2)} of plain)`,
      `  sliding 100 s / 25 s windows:   ${fmt(w.recordsPerSec.sliding)} records/s (${(w.recordsPerSec.sliding / w.recordsPerSec.none).toFixed(2)} of plain)`,
    ]);
  },
  nexmark: async () => {
    const queries =
      values.queries === undefined
        ? quick
          ? ['q0', 'q5', 'q8']
          : NEXMARK_QUERIES
        : values.queries
            .split(',')
            .map((q) => q.trim())
            .filter(Boolean);
    for (const q of queries)
      if (!NEXMARK_QUERIES.includes(q)) fail(`--queries: unknown query ${JSON.stringify(q)} (known: ${NEXMARK_QUERIES.join(', ')})`);
    const sqlConf =
      values['sql-conf'] === undefined ? REFERENCE_SQL_CONF : values['sql-conf'] === 'none' ? 'none' : resolve(values['sql-conf']);
    if (sqlConf !== 'none' && !existsSync(sqlConf))
      fail(`--sql-conf: no such file ${JSON.stringify(sqlConf)} (a file of 'key: value' lines, or none)`);
    if (!values['no-sql']) console.log(`  SQL settings: ${describeSqlConf(sqlConf)}`);
    results.nexmark = await benchNexmark(
      {
        queries,
        parallelism,
        rate: positiveInt('rate', values.rate) ?? 10_000_000,
        events: positiveInt('events', values.events),
        seconds: positiveInt('seconds', values.seconds) ?? (quick ? 1 : 2),
        rounds: roundsFlag ?? (quick ? 2 : 3),
        incremental: !values['full-checkpoints'],
        sql: !values['no-sql'],
        sqlConf,
      },
      (x, variant) =>
        console.log(
          `  ${x.round < 0 ? '       ' : `round ${x.round + 1}`} ${`${x.query}${variant === 'sql' ? ' SQL' : ''}`.padEnd(9)} ${x.mode.padEnd(13)} ${fmt(x.events).padStart(11)} events  ${fmt(x.eventsPerSec).padStart(10)} events/s  ${fmt(x.eventsPerCpuSec).padStart(10)} per CPU-s  ${x.cores.toFixed(2)} cores  ${x.checkpoints} checkpoints`,
        ),
    );
    for (const f of results.nexmark.failures ?? []) errors.push({ suite: 'nexmark', message: `${f.query}: ${f.message}` });
  },
  connectors: async () => {
    results.connectors = await benchConnectors(
      {
        records: recordsFlag ?? (quick ? 50_000 : 500_000),
        keys: values.keys !== undefined ? keys : 100,
        rounds: roundsFlag ?? (quick ? 1 : 3),
        parallelism,
        checkpointIntervalMs: 1000,
      },
      (line) => console.error(line),
    );
    log(formatConnectors(results.connectors));
  },
  'state-scale': async () => {
    // Issue 18's sizes unless --records/--keys say otherwise (quick: 1M lines over 200k keys).
    results.stateScale = await benchStateScale(
      {
        records: recordsFlag ?? (quick ? 1_000_000 : 10_000_000),
        keys: values.keys !== undefined ? keys : quick ? 200_000 : 2_000_000,
        rows: values.rows,
      },
      (line) => console.error(line),
    );
    log(formatStateScale(results.stateScale));
  },
  scaling: async () => {
    results.scaling = await benchScaling({
      records: recordsFlag ?? (quick ? 500_000 : 5_000_000),
      keys,
      rounds: roundsFlag ?? (quick ? 2 : 3),
    });
    log(formatScaling(results.scaling));
  },
};

for (const suite of suites) {
  const t0 = performance.now();
  console.log(`\n== ${suite}`);
  try {
    await runners[suite]();
  } catch (e) {
    const err = e as Error;
    console.error(`bench: suite ${suite} failed: ${err.stack ?? err.message}`);
    errors.push({ suite, message: err.message, stack: err.stack });
  }
  console.log(`   (${suite}: ${((performance.now() - t0) / 1000).toFixed(1)} s)`);
}

const dir = fileURLToPath(new URL('../../bench/results/', import.meta.url));
mkdirSync(dir, { recursive: true });
const stem = `bench-${started.toISOString().replace(/[:.]/g, '-')}`;
const info: RunInfo = {
  command: ['node', ...process.execArgv, relative(process.cwd(), process.argv[1]), ...process.argv.slice(2)].join(' '),
  node: process.version,
  date: started.toISOString(),
  finished: new Date().toISOString(),
  platform: `${process.platform} ${process.arch}`,
  cpus: { available: availableParallelism(), model: cpus()[0]?.model },
  loadAvg: { start: loadAtStart, end: loadavg()[0] },
  quick,
  suites,
  errors: errors.map(({ suite, message }) => ({ suite, message })),
};
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('EDDY_')));
writeFileSync(
  `${dir}${stem}.json`,
  JSON.stringify(
    {
      ...info,
      cwd: process.cwd(),
      argv: process.argv,
      execArgv: process.execArgv,
      env,
      targets: checkTargets(results),
      ...results,
      errors,
    },
    null,
    2,
  ),
);
const report = buildReport(info, results, stem);
writeFileSync(`${dir}${stem}.md`, report.markdown);
for (const [file, svg] of Object.entries(report.charts)) writeFileSync(`${dir}${file}`, svg);

console.log('\ntargets:');
for (const t of checkTargets(results)) console.log(`  ${t.pass === null ? 'n/a ' : t.pass ? 'PASS' : 'MISS'}  ${t.target}: ${t.measured}`);
console.log(`results: ${dir}${stem}.json\nreport:  ${dir}${stem}.md`);
if (errors.length > 0) process.exitCode = 1;
