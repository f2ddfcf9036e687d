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
