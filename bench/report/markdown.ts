/**
 * The readable report of one invocation: Markdown with a table per suite and SVG charts (files
 * next to the report, referenced by relative path). Returns the texts; the caller writes them.
 */
import type { PhasePercentiles } from '../checkpoint-modes.js';
import type { Percentiles } from '../stats.js';
import type { MicroRow } from '../micro/tiny.js';
import { barChart, defaultFormat } from './svg.js';
import type { RunInfo, SuiteResults } from './results.js';
import { checkTargets } from './targets.js';
import { nexmarkSection } from './nexmark.js';
import { TAIL_LEGS, TAIL_LEG_NAMES } from '../checkpoint-tail.js';

export interface Report {
  markdown: string;
  /** file name (relative to the report) → SVG text */
  charts: Record<string, string>;
}

const n0 = (n: number) => Math.round(n).toLocaleString('en-US');
const ms = (n: number | null) => (n === null ? '—' : n < 10 ? n.toFixed(2) : n.toFixed(1));
const PHASE_HEADER = ['duration', 'start delay', 'alignment', 'sync', 'async'].map((h) => `${h} p50 / p99 ms`);
/** "p50 / p99" of a percentile set. */
const p50p99 = (x: Percentiles) => `${ms(x.p50)} / ${ms(x.p99)}`;
const phaseCells = (p: PhasePercentiles) => [p.durationMs, p.startDelayMs, p.alignmentMs, p.syncMs, p.asyncMs].map(p50p99);
const table = (header: string[], rows: string[][]) =>
  [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');

export function buildReport(info: RunInfo, r: SuiteResults, prefix: string): Report {
  const charts: Record<string, string> = {};
  const chart = (name: string, svg: string) => {
    const file = `${prefix}-${name}.svg`;
    charts[file] = svg;
    return `![${name}](${file})`;
  };
  const md: string[] = [
    `# eddy benchmark report${info.quick ? ' (quick)' : ''}`,
    '',
    `- command: \`${info.command}\``,
    `- date: ${info.date} → ${info.finished}`,
    `- node ${info.node}, ${info.platform}, ${info.cpus.available} cores (${info.cpus.model ?? 'unknown CPU'})`,
    `- suites: ${info.suites.join(', ')}`,
    `- load average (1 min) at start ${info.loadAvg.start.toFixed(2)}, at end ${info.loadAvg.end.toFixed(2)}: other work on the machine skews absolute figures and, less, ratios`,
    '- Every ratio is between figures measured in this same invocation; absolute figures depend on the machine and its load.',
    '',
  ];
  if (info.errors.length) md.push('## Errors', '', ...info.errors.map((e) => `- **${e.suite}**: ${e.message}`), '');

  md.push(
    '## Targets',
    '',
    table(
      ['target', 'measured', 'result'],
      checkTargets(r).map((t) => [t.target, t.measured, t.pass === null ? 'not measured' : t.pass ? 'PASS' : '**MISS**']),
    ),
    '',
  );

  if (r.keyedCount) {
    const k = r.keyedCount;
    md.push(
      '## Keyed count and its baselines',
      '',
      `generator → keyBy → count (value state) → discard; ${n0(k.records)} records, ${n0(k.keys)} keys; median of ${k.rounds} interleaved round(s). Engine records/s are over the whole job (deploy and teardown included).`,
      '',
      table(
        ['pipeline', 'records/s', 'of (a)', 'runs', 'engine fixed cost ms', 'records/s without it'],
        k.entries.map((e) => [
          e.label,
          n0(e.recordsPerSec),
          `${(e.ratioToTwoThread * 100).toFixed(0)}%`,
          e.runs.map(n0).join(', '),
          e.fixedMs === undefined ? '' : n0(e.fixedMs),
          e.fixedMs === undefined ? '' : e.steadyRecordsPerSec === undefined ? 'n/a (run too short)' : n0(e.steadyRecordsPerSec),
        ]),
      ),
      '',
      'Engine fixed cost: the duration of the same job with 1,000 records (deploy, start-up, final checkpoint, teardown), measured right after each run; "without it" is records / (duration − fixed cost), an estimate of the steady state. The targets use the whole-job figure. ' +
        `Slot threads are kept between the jobs of one process (core/runtime/pool.ts), so these figures do not include starting threads; the first engine job of this run, which did, took ${k.coldStartMs === undefined ? 'n/a' : `${n0(k.coldStartMs)} ms`} (1,000 records, parallelism 1, exactly-once).`,
      '',
      chart(
        'keyed-count',
        barChart({
          title: 'Keyed count: eddy and baselines',
          unit: 'records/s',
          categories: k.entries.map((e) => e.label),
          series: [{ name: 'records/s', values: k.entries.map((e) => e.recordsPerSec) }],
        }),
      ),
      '',
    );
  }

  if (r.checkpointModes?.length) {
    const configs = r.checkpointModes.flatMap((g) => g.configs.map((c) => ({ g, c })));
    md.push(
      '## Consistency modes',
      '',
      "Keyed count with checkpointing off, at-least-once and exactly-once at each interval, the source unthrottled: the count tasks are the bottleneck, every ring runs full, and a barrier queues behind a ring of records (backpressure). Runs of one record count form a group with its own `none` run (long intervals need longer runs); \"/ none\" is against that group's `none`. Percentiles over the completed non-final checkpoints of all rounds (nearest rank). Each checkpoint's phases are its slowest task's: *start delay* trigger → the task starts (a source handles the trigger; another task sees its first barrier), *alignment* first → last barrier, *sync* state captured and barrier sent on the record loop, *async* snapshot encoded, written and fsynced off the loop.",
      '',
      table(
        ['mode', 'interval', 'records', 'parallelism', 'records/s', '/ none', 'checkpoints', ...PHASE_HEADER, 'note'],
        configs.map(({ g, c }) => [
          c.mode,
          c.intervalMs === null ? '—' : `${c.intervalMs} ms`,
          n0(g.records),
          String(g.parallelism),
          n0(c.recordsPerSec),
          `${(c.ratioToNone * 100).toFixed(1)}%`,
          c.mode === 'none' ? '—' : String(c.checkpoints),
          ...(c.mode === 'none' ? PHASE_HEADER.map(() => '—') : phaseCells(c)),
          c.warning ?? '',
        ]),
      ),
      '',
    );
    const paced = r.checkpointModes.flatMap((g) => g.paced ?? []);
    if (paced.length > 0) {
      md.push(
        `**Without backpressure**: exactly-once with the source paced to ${Math.round(paced[0].fraction * 100)}% of the \`none\` rate above (${n0(paced[0].targetRate)} records/s, one run of ${n0(paced[0].records)} records per interval). This is what the alignment target is judged on.`,
        '',
        table(
          ['interval', 'records/s', 'checkpoints', ...PHASE_HEADER],
          paced.map((x) => [`${x.intervalMs} ms`, n0(x.recordsPerSec), String(x.checkpoints), ...phaseCells(x)]),
        ),
        '',
      );
    }
    const intervals = [...new Set(configs.filter(({ c }) => c.intervalMs !== null).map(({ c }) => c.intervalMs!))].sort((a, b) => a - b);
    const pick = (mode: string, i: number) => configs.find(({ c }) => c.mode === mode && c.intervalMs === i)?.c ?? null;
    md.push(
      chart(
        'modes-throughput',
        barChart({
          title: 'Throughput relative to checkpointing off',
          unit: '% of none',
          categories: intervals.map((i) => `interval ${i} ms`),
          series: ['at-least-once', 'exactly-once'].map((m) => ({
            name: m,
            values: intervals.map((i) => (pick(m, i) ? pick(m, i)!.ratioToNone * 100 : null)),
          })),
          reference: { value: 95, label: '95%' },
          format: (v) => v.toFixed(1),
        }),
      ),
      '',
      chart(
        'modes-alignment',
        barChart({
          title: 'Alignment time p99 (exactly-once) and checkpoint duration p99',
          unit: 'ms',
          categories: intervals.map((i) => `interval ${i} ms`),
          series: [
            {
              name: 'EO alignment p99 (paced)',
              values: intervals.map((i) => paced.find((x) => x.intervalMs === i)?.alignmentMs.p99 ?? null),
            },
            { name: 'EO alignment p99 (backpressure)', values: intervals.map((i) => pick('exactly-once', i)?.alignmentMs.p99 ?? null) },
            { name: 'EO duration p99', values: intervals.map((i) => pick('exactly-once', i)?.durationMs.p99 ?? null) },
            { name: 'ALO duration p99', values: intervals.map((i) => pick('at-least-once', i)?.durationMs.p99 ?? null) },
          ],
          log: true,
          reference: { value: 5, label: '5 ms' },
        }),
      ),
      '',
    );
  }

  if (r.backpressure) {
    const b = r.backpressure;
    md.push(
      '## Backpressure',
      '',
      `A slow sink (busy ${b.spinUs} µs per record) behind keyed count, parallelism ${b.parallelism}, ${n0(b.records)} records, checkpoint interval ${b.intervalMs} ms. Peak RSS is the whole process (all threads) while the job ran.`,
      '',
      table(
        ['mode', 'ring', 'records/s', 'checkpoints', 'duration p50 / p99 ms', 'alignment p50 / p99 ms', 'peak RSS MiB'],
        b.rows.map((x) => [
          x.label ?? x.mode,
          `${x.ringCapacity / 1024} KiB`,
          n0(x.recordsPerSec),
          x.mode === 'none' ? '—' : String(x.checkpoints),
          x.mode === 'none' ? '—' : p50p99(x.checkpointDurationMs),
          x.mode === 'none' ? '—' : p50p99(x.alignmentMs),
          (x.peakRssBytes / 2 ** 20).toFixed(0),
        ]),
      ),
      '',
      "Where the time of the exactly-once checkpoints went, p50 / p99 ms, each phase its slowest task's (so phases need not add up to the duration): start delay; sync part; async part and, inside it, the wait until every input's barrier is located, encoding the in-flight data, the longest single state-file write (open, write, fsync, rename) and, of it, the time the writer thread itself spent (unaligned runs; the rest is its queue and the reply reaching the task loop). *Slowest* is the longest checkpoint and its id within its run (1: the run's first, while the workers still warm up).",
      '',
      table(
        ['mode', 'ring', 'start delay', 'sync', 'async', 'located', 'encode', 'file write', 'on writer thread', 'slowest'],
        b.rows
          .filter((x) => x.mode === 'exactly-once' && x.phases !== undefined)
          .map((x) => [
            x.label ?? x.mode,
            `${x.ringCapacity / 1024} KiB`,
            p50p99(x.startDelayMs),
            p50p99(x.phases.syncMs),
            p50p99(x.phases.asyncMs),
            p50p99(x.phases.channelWaitMs),
            p50p99(x.phases.encodeMs),
            p50p99(x.phases.writeMs),
            x.phases.writeIoMs ? p50p99(x.phases.writeIoMs) : '—',
            x.slowest ? `chk ${x.slowest.id}: ${Math.round(x.slowest.durationMs)} ms` : '—',
          ]),
      ),
      '',
      "The tail of the exactly-once checkpoints by legs, p50 / p99 ms after the trigger, each task-side leg when the slowest task got there: its first barrier, every input's barrier located, state captured, in-flight data encoded, every file written or handed to the writer thread, the ack posted, the writer thread took the last file and had it fsync'd; then the main thread: the last ack taken, the last writer's durable notice taken, both in (the duration), the folder fsync'd, `_metadata` durable, the checkpoint directory fsync'd, tasks told, and after that `_latest` durable. *fsynced → all in* is per checkpoint: from the last file durable to the coordinator having everything (the hops after the writer).",
      '',
      table(
        ['mode', 'ring', ...TAIL_LEGS.map((l) => TAIL_LEG_NAMES[l]), 'fsynced → all in', 'files'],
        b.rows.flatMap((x) =>
          x.tail === undefined
            ? []
            : [
                [
                  x.label ?? x.mode,
                  `${x.ringCapacity / 1024} KiB`,
                  ...TAIL_LEGS.map((l) => p50p99(x.tail!.legs[l])),
                  p50p99(x.tail.afterSync),
                  ms(x.tail.files.p50),
                ],
              ],
        ),
      ),
      '',
      chart(
        'backpressure',
        barChart({
          title: 'Under backpressure: checkpoint duration and alignment p99',
          unit: 'ms',
          categories: b.ringCapacities.map((c) => `ring ${c / 1024} KiB`),
          series: [
            {
              name: 'EO duration p99',
              values: b.ringCapacities.map(
                (c) => b.rows.find((x) => x.ringCapacity === c && x.mode === 'exactly-once')?.checkpointDurationMs.p99 ?? null,
              ),
            },
            {
              name: 'EO unaligned duration p99',
              values: b.ringCapacities.map(
                (c) => b.rows.find((x) => x.ringCapacity === c && x.unaligned)?.checkpointDurationMs.p99 ?? null,
              ),
            },
            {
              name: 'EO debloat 50 duration p99',
              values: b.ringCapacities.map(
                (c) => b.rows.find((x) => x.ringCapacity === c && x.debloatTargetMs === 50)?.checkpointDurationMs.p99 ?? null,
              ),
            },
            {
              name: 'EO alignment p99',
              values: b.ringCapacities.map(
                (c) => b.rows.find((x) => x.ringCapacity === c && x.mode === 'exactly-once')?.alignmentMs.p99 ?? null,
              ),
            },
            {
              name: 'ALO duration p99',
              values: b.ringCapacities.map(
                (c) => b.rows.find((x) => x.ringCapacity === c && x.mode === 'at-least-once')?.checkpointDurationMs.p99 ?? null,
              ),
            },
          ],
          log: true,
        }),
      ),
      '',
    );
  }

  if (r.latency) {
    const l = r.latency;
    md.push(
      '## Latency',
      '',
      `Source emit timestamp → sink, parallelism 1. Maximum rate measured first in this run: ${n0(l.maxRecordsPerSec)} records/s. ${l.seconds} s per run; the first ${l.warmupFraction * 100}% of each run's records are not measured; histogram resolution ${l.bucketUs} µs (a percentile is the upper edge of its bucket).`,
      '',
      table(
        ['buffer timeout', '% of max', 'target records/s', 'achieved (job)', 'measured', 'p50 ms', 'p99 ms', 'p999 ms', 'max ms'],
        l.rows.map((x) => [
          `${x.bufferTimeoutMs} ms`,
          `${Math.round(x.fraction * 100)}%`,
          n0(x.targetRate),
          n0(x.achievedRate),
          n0(x.measured),
          ms(x.p50Ms),
          ms(x.p99Ms),
          ms(x.p999Ms),
          ms(x.maxMs),
        ]),
      ),
      '',
      chart(
        'latency',
        barChart({
          title: 'Latency p50 / p99 / p999',
          unit: 'ms',
          categories: l.rows.map((x) => `${Math.round(x.fraction * 100)}% of max, timeout ${x.bufferTimeoutMs} ms`),
          series: [
            { name: 'p50', values: l.rows.map((x) => x.p50Ms) },
            { name: 'p99', values: l.rows.map((x) => x.p99Ms) },
            { name: 'p999', values: l.rows.map((x) => x.p999Ms) },
          ],
          log: true,
          reference: { value: 20, label: '20 ms' },
        }),
      ),
      '',
    );
  }

  if (r.scaling) {
    const s = r.scaling;
    md.push(
      '## Scaling',
      '',
      `Keyed count, checkpointing off, ${n0(s.records)} records, ${s.cores} cores, median of ${s.rounds} interleaved round(s). Efficiency = throughput(p) / (p × throughput(1)); a job at parallelism p runs 2p task threads.`,
      '',
      table(
        ['parallelism', 'records/s', 'speedup', 'efficiency'],
        s.rows.map((x) => [String(x.parallelism), n0(x.recordsPerSec), x.speedup.toFixed(2), `${(x.efficiency * 100).toFixed(0)}%`]),
      ),
      '',
      chart(
        'scaling',
        barChart({
          title: 'Scaling efficiency',
          unit: '%',
          categories: s.rows.map((x) => `parallelism ${x.parallelism}`),
          series: [{ name: 'efficiency', values: s.rows.map((x) => x.efficiency * 100) }],
          reference: { value: 100, label: 'linear' },
          format: (v) => v.toFixed(0),
        }),
      ),
      '',
    );
  }

  if (r.micro?.length) {
    md.push('## Micro-benchmarks (tinybench)', '');
    const groups = [...new Set(r.micro.map((m) => m.group))];
    for (const g of groups) {
      const rows = r.micro.filter((m) => m.group === g);
      md.push(
        `### ${g}`,
        '',
        table(
          ['task', `${rows[0].unit}/s`, `ns per ${rows[0].unit.replace(/s$/, '')}`, '± %', 'extra'],
          rows.map((m: MicroRow) => [
            m.name,
            defaultFormat(m.unitsPerSec),
            m.nsPerUnit.toFixed(m.nsPerUnit < 10 ? 2 : 0),
            m.rme.toFixed(1),
            m.extra
              ? Object.entries(m.extra)
                  .map(([k, v]) => `${k} ${defaultFormat(v)}`)
                  .join(', ')
              : '',
          ]),
        ),
        '',
      );
    }
    const ring = r.micro.filter((m) => m.group === 'ring');
    if (ring.length) {
      const sizes = [...new Set(ring.map((m) => m.extra?.frameBytes ?? 0))];
      md.push(
        chart(
          'ring',
          barChart({
            title: 'Ring vs postMessage between two threads',
            unit: 'bytes/s',
            categories: sizes.map((s) => `frames of ${s} B`),
            series: ['ring', 'postMessage'].map((kind) => ({
              name: kind,
              values: sizes.map((s) => ring.find((m) => m.name === `${kind} ${s} B`)?.extra?.bytesPerSec ?? null),
            })),
            log: true,
          }),
        ),
        '',
      );
    }
  }
  if (r.nexmark) md.push(...nexmarkSection(r.nexmark, chart));
  return { markdown: md.join('\n') + '\n', charts };
}
