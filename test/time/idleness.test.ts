// withIdleness: a source subtask without data must not hold event time back. The windows of
// a rate-limited source fire while it still produces when the empty subtask is marked idle,
// and only once the whole input has ended when it is not.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runJob } from '../../core/index.js';
import { fixture } from '../helpers/paths.js';

interface Fired {
  start: number;
  n: number;
  firedAt: number;
  made: number;
}

const COUNT = 240; // 120 records with data, at 80 records/s over both subtasks: about 3 s

async function run(idle?: number, count = COUNT): Promise<Fired[]> {
  const args: Record<string, string> = { count: String(count), rate: '80' };
  if (idle !== undefined) args.idle = String(idle);
  const r = await runJob(fixture('time/idleness.mjs'), { parallelism: 2, args });
  return (r.collected?.out ?? []) as Fired[];
}

describe('withIdleness', () => {
  it('an idle subtask marked idle does not stall windows: they fire while data still comes', async () => {
    const fired = await run(200);
    // Every even record, 5 per 100 ms window: all windows complete.
    assert.equal(fired.length, COUNT / 10);
    for (const f of fired) assert.equal(f.n, 5);
    const lastMade = Math.max(...fired.map((f) => f.made));
    const early = fired.filter((f) => f.firedAt < lastMade - 1000);
    assert.ok(early.length >= 5, `windows fired more than 1 s before the last record was made (${early.length})`);
  });

  it('without withIdleness the windows wait for the empty subtask until the input ends', async () => {
    // 160 records (2 s): a window fired before the end would fire up to 1.5 s early.
    const count = 160;
    const fired = await run(undefined, count);
    assert.equal(fired.length, count / 10);
    const lastMade = Math.max(...fired.map((f) => f.made));
    // The empty subtask's input ends with the other's (same rate, same count): only then,
    // with its +Infinity watermark, may windows fire.
    for (const f of fired)
      assert.ok(f.firedAt >= lastMade - 500, `window ${f.start} fired ${lastMade - f.firedAt} ms before the input ended`);
  });
});
