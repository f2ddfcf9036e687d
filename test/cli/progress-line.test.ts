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
    assert.equal(
      progressLine(progress, 8230, 200),
      'eddy 1.5s │ 8.23k rec/s │ clicks 12.3k→  parse-json 12.3k→12.3k  sessionize 12.3k→800  enrich-with-user-profile 800→800  sessions-out →800',
    );
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

// The line as a terminal shows it while a job runs: progress-terminal.test.ts.

/**
 * Redraws: the snapshot timer may fire a few ms short of the redraw interval (Node re-arms an
 * interval from the loop's cached time); such a snapshot is drawn, not skipped (a skipped one
 * left the line still for 500 ms). A stream that only records what is written stands in for the
 * terminal.
 */
describe('live progress redraws', () => {
  it('draws every snapshot of a 250 ms timer that fires a little early', async () => {
    const { createProgress, REDRAW_INTERVAL_MS } = await import('../../core/cli/progress.js');
    const writes: string[] = [];
    const stream = { isTTY: true, columns: 200, write: (s: string) => writes.push(s) } as unknown as NodeJS.WriteStream;
    let clock = 0;
    const display = createProgress({ enabled: true, stream, now: () => clock });
    // A second of workers starting (no records), then 100 records per 250 ms at the sink.
    const sunk = (k: number) => Math.max(0, k - 4) * 100;
    for (let k = 1; k <= 8; k++) {
      clock = k * REDRAW_INTERVAL_MS - (k % 2) * 3; // every other tick 3 ms early
      display.update({ elapsedMs: clock, operators: [op('src', 'source', 0, sunk(k)), op('out', 'sink', sunk(k), 0)] });
    }
    assert.equal(writes.length, 8, writes.join('\n'));
    // The first redraw with records: the rate over the time since the last snapshot without
    // any (~400/s), not since the job started (~100/s).
    const rate = Number(/│ (\d+) rec\/s │ src 100→  out →100$/.exec(writes[4]!)?.[1]);
    assert.ok(rate >= 350 && rate <= 450, writes[4]);
  });
});

/**
 * The counters behind the line, from a running job: each task publishes its counts on a timer
 * of its own, and once a sink's task published records its source's task had not yet published
 * (a line `clicks 0→  sessions-out →9` on a busy machine). Snapshots taken every millisecond of
 * a paced pipeline whose every operator passes each record on (source → map, then across
 * threads keyBy → map → sink) must never show an operator with more records in than the one
 * before it has out.
 */
describe('progress snapshots', () => {
  it('never show an operator ahead of the one feeding it', async () => {
    const { runJob } = await import('../../core/index.js');
    const { fixture } = await import('../helpers/paths.js');
    const COUNT = 900;
    const snapshots: JobProgress[] = [];
    await runJob(fixture('paced-pipeline.mjs'), {
      parallelism: 2,
      mode: 'none',
      args: { count: String(COUNT), rate: '1500' },
      progressIntervalMs: 1,
      onProgress: (p) => snapshots.push(p),
    });
    const order = ['clicks', 'parse-and-enrich-click-events', 'sessionize-by-user-with-gaps', 'sessions-out'];
    const flowing = snapshots.filter((p) => {
      const sink = p.operators.find((o) => o.uid === 'sessions-out')!.recordsIn;
      return sink > 0 && sink < COUNT;
    });
    assert.ok(flowing.length >= 20, `snapshots while records flowed: ${flowing.length} of ${snapshots.length}`);
    for (const p of snapshots) {
      const ops = order.map((uid) => p.operators.find((o) => o.uid === uid)!);
      for (let i = 1; i < ops.length; i++) {
        const [up, down] = [ops[i - 1]!, ops[i]!];
        assert.ok(
          down.recordsIn <= up.recordsOut,
          `at ${p.elapsedMs.toFixed(0)} ms ${down.uid} has ${down.recordsIn} in, ${up.uid} ${up.recordsOut} out`,
        );
      }
    }
  });
});
