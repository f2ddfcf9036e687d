/**
 * The live progress line fits the terminal (issue 12: at 80 columns the sink column was cut
 * off) by dropping the least useful columns first: operators between sources and sinks, then
 * sources; the sink column and the rate stay. Sources show the records they read.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { progressLine } from '../../core/cli/progress.js';
import type { JobProgress, OperatorMetrics } from '../../core/runtime/options.js';

const op = (uid: string, kind: string, recordsIn: number, recordsOut: number): OperatorMetrics =>
  ({ uid, name: uid, kind, parallelism: 2, recordsIn, recordsOut }) as OperatorMetrics;

const progress: JobProgress = {
  elapsedMs: 1500,
  operators: [
    op('clicks', 'source', 0, 12_345),
    op('parse-json', 'map', 12_345, 12_300),
    op('sessionize', 'process', 12_300, 800),
    op('enrich-with-user-profile', 'map', 800, 800),
    op('sessions-out', 'sink', 800, 0),
  ],
};

describe('progress line', () => {
  it('on a wide terminal every column, the source counted', () => {
    assert.equal(progressLine(progress, 8230, 200), 'eddy 1.5s │ 8.23k rec/s │ clicks 12.3k→  parse-json 12.3k→12.3k  sessionize 12.3k→800  enrich-with-user-profile 800→800  sessions-out →800');
  });

  it('at 120 columns the last middle operator goes first', () => {
    const line = progressLine(progress, 8230, 120);
    assert.ok(line.length <= 120, line);
    assert.equal(line, 'eddy 1.5s │ 8.23k rec/s │ clicks 12.3k→  parse-json 12.3k→12.3k  sessionize 12.3k→800  sessions-out →800');
  });

  for (const width of [80, 60]) {
    it(`at ${width} columns the sink and the rate stay, middle operators go first`, () => {
      const line = progressLine(progress, 8230, width);
      assert.ok(line.length <= width, `${line.length}: ${line}`);
      assert.match(line, /8\.23k rec\/s/);
      assert.match(line, /sessions-out →800$/);
      assert.match(line, /clicks 12\.3k→/);
      assert.doesNotMatch(line, /enrich-with-user-profile/);
    });
  }

  it('at 40 columns sources go too, and the sink stays', () => {
    const line = progressLine(progress, 8230, 45);
    assert.ok(line.length <= 45, line);
    assert.equal(line, 'eddy 1.5s │ 8.23k rec/s │ sessions-out →800');
  });
});

/**
 * What the line is drawn from: the snapshots `onProgress` gets (issue 12: the rate showed 0 for
 * the first ~2.6 s, sources stayed at 0 and counts moved in ~1 s steps, because workers published
 * their counters only every so many loop turns). A paced job: from the first second on, every
 * snapshot shows records read by the source and reached by the sink, and the sink count moves
 * between nearly every pair of snapshots.
 */
describe('progress snapshots while a job runs', () => {
  it('count records at the source and the sink from the first second, in steps of one snapshot', async () => {
    const { runJob } = await import('../../core/index.js');
    const { join } = await import('node:path');
    const { repoRoot } = await import('../helpers/paths.js');
    const seen: { t: number; source: number; sink: number }[] = [];
    await runJob(join(repoRoot, 'bench', 'jobs', 'keyed-count.mjs'), {
      parallelism: 2,
      mode: 'none',
      args: { count: '500000', rate: '200000' },
      progressIntervalMs: 100,
      onProgress: (p) => {
        const sum = (kind: string, f: 'recordsIn' | 'recordsOut') => p.operators.filter((o) => o.kind === kind).reduce((n, o) => n + o[f], 0);
        seen.push({ t: p.elapsedMs, source: sum('source', 'recordsOut'), sink: sum('sink', 'recordsIn') });
      },
    });
    const running = seen.filter((s) => s.t >= 1000 && s.sink < 500_000);
    assert.ok(running.length >= 5, `snapshots while the job ran past its first second: ${running.length}`);
    for (const s of running) assert.ok(s.source > 0 && s.sink > 0, `at ${s.t.toFixed(0)} ms: source ${s.source}, sink ${s.sink}`);
    // Counters published every ~100 ms: the sink count moves between most 100 ms snapshots (a
    // 1 s publishing step would leave 9 of 10 unchanged).
    let moved = 0;
    for (let i = 1; i < running.length; i++) if (running[i].sink > running[i - 1].sink) moved++;
    assert.ok(moved >= (running.length - 1) * 0.6, `the sink count moved in ${moved} of ${running.length - 1} steps`);
  });
});
