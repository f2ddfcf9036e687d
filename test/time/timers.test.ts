// Timers of keyed process functions: one firing per distinct (key, time) however many records
// registered it, none for deleted ones, each only once the watermark reached it, with the
// key, time domain and timestamp in the context; processing-time timers fire on the clock.
// Records keep their assigned timestamps across the thread boundary.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runJob } from '../../core/index.js';
import { fixture } from '../helpers/paths.js';

const COUNT = 3000;
const KEYS = 5;
const DISORDER = 40;

interface Out {
  kind: 'record' | 'timer';
  i: number;
  ts: number;
  key: number;
  t: number;
  domain: string;
  wm: number | null;
}

describe('keyed timers', () => {
  it('event-time timers deduplicated, deleted ones silent, fired at the watermark; processing-time timers fire', async () => {
    const r = await runJob(fixture('time/timers.mjs'), {
      parallelism: 2,
      args: { count: String(COUNT), keys: String(KEYS), disorder: String(DISORDER), rate: '3000' },
    });
    const out = (r.collected?.out ?? []) as Out[];
    const tsOf = (i: number) => 1000 + i * 10 - ((i * 7919) % (DISORDER + 1));

    const records = out.filter((o) => o.kind === 'record');
    assert.equal(records.length, COUNT);
    for (const o of records) assert.equal(o.ts, tsOf(o.i), `record ${o.i} kept its timestamp`);

    const expected = new Set<string>();
    for (let i = 0; i < COUNT; i++) if (i % KEYS !== 0) expected.add(`${i % KEYS}/${Math.floor(tsOf(i) / 100) * 100 + 99}`);
    const event = out.filter((o) => o.kind === 'timer' && o.domain === 'event');
    const fired = event.map((o) => `${o.key}/${o.t}`);
    assert.equal(new Set(fired).size, fired.length, 'no timer fired twice');
    assert.deepEqual(new Set(fired), expected);
    for (const o of event) {
      assert.equal(o.ts, o.t, 'onTimer sees the timer time as timestamp');
      // JSON has no Infinity: null is the end-of-input watermark.
      assert.ok(o.wm === null || o.wm >= o.t, `timer ${o.t} fired at watermark ${o.wm}`);
    }
    assert.ok(
      event.some((o) => o.wm !== null),
      'some timers fired while the input was still running',
    );

    const proc = out.filter((o) => o.kind === 'timer' && o.domain === 'processing');
    assert.deepEqual(proc.map((o) => o.key).sort(), [0, 1, 2, 3, 4]);
  });
});
