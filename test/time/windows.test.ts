// test-lane: pair
// Event-time windows over generated out-of-order events: the engine's results (reduce,
// aggregate, process; tumbling, sliding, session; with and without allowed lateness) and its
// late side output equal a reference computed here, record by record, with Flink's rules:
// the watermark after an event is (max timestamp so far) − bound − 1 and reaches the window
// operator before the event; a window fires when the watermark reaches its last instant
// (end − 1), and again for every record that arrives within the allowed lateness after
// that; a record whose every window ended more than the allowed lateness before the
// watermark is late and goes to the side output.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runJob } from '../../core/index.js';
import { fixture } from '../helpers/paths.js';

interface Ev {
  i: number;
  key: number;
  v: number;
  ts: number;
}
interface Win {
  key: number;
  start: number;
  end: number;
  sum: number;
  n: number;
}

const jitter = (i: number, disorder: number) => ((i * 2654435761) >>> 0) % (disorder + 1);

function events(count: number, keys: number, disorder: number): Ev[] {
  const out: Ev[] = [];
  for (let i = 0; i < count; i++)
    out.push({ i, key: i % keys, v: (i * 7919) % 1000, ts: 1000 + 10 * i + 600 * Math.floor(i / 100) - jitter(i, disorder) });
  return out;
}

/** The windows [start, end) of size `size` every `slide` ms that hold ts. */
function slidingWindows(ts: number, size: number, slide: number): [number, number][] {
  const out: [number, number][] = [];
  for (let start = Math.floor(ts / slide) * slide; start + size > ts; start -= slide) out.push([start, start + size]);
  return out;
}

/** Reference for tumbling (slide = size) and sliding windows with punctuated watermarks. */
function referenceFixed(evs: Ev[], bound: number, size: number, slide: number, lateness: number): { windows: Win[]; late: number[] } {
  interface W {
    key: number;
    start: number;
    end: number;
    sum: number;
    n: number;
    fired: boolean;
  }
  const live = new Map<string, W>();
  const windows: Win[] = [];
  const late: number[] = [];
  const emit = (w: W) => windows.push({ key: w.key, start: w.start, end: w.end, sum: w.sum, n: w.n });
  let max = -Infinity;
  let wm = -Infinity;
  const advance = (to: number) => {
    if (to <= wm) return;
    wm = to;
    for (const [id, w] of [...live].sort((a, b) => a[1].end - b[1].end)) {
      if (!w.fired && w.end - 1 <= wm) {
        w.fired = true;
        emit(w);
      }
      if (w.end - 1 + lateness <= wm) live.delete(id);
    }
  };
  for (const e of evs) {
    max = Math.max(max, e.ts);
    advance(max - bound - 1);
    let added = false;
    for (const [start, end] of slidingWindows(e.ts, size, slide)) {
      if (end - 1 + lateness <= wm) continue; // this window is gone
      added = true;
      const id = `${e.key}/${start}`;
      let w = live.get(id);
      if (!w) {
        // A window created after the watermark passed its end fires per record only.
        w = { key: e.key, start, end, sum: 0, n: 0, fired: end - 1 <= wm };
        live.set(id, w);
      }
      w.sum += e.v;
      w.n++;
      if (end - 1 <= wm) emit(w); // late firing within the allowed lateness
    }
    if (!added) late.push(e.i);
  }
  advance(Infinity);
  return { windows, late };
}

/** Reference for session windows when nothing is late: per key, timestamps closer than the gap chain into one session. */
function referenceSessions(evs: Ev[], gap: number): Win[] {
  const byKey = new Map<number, Ev[]>();
  for (const e of evs) {
    const l = byKey.get(e.key) ?? [];
    l.push(e);
    byKey.set(e.key, l);
  }
  const out: Win[] = [];
  for (const [key, l] of byKey) {
    l.sort((a, b) => a.ts - b.ts);
    let cur: Win | undefined;
    let last = -Infinity;
    for (const e of l) {
      if (cur && e.ts <= last + gap) {
        cur.sum += e.v;
        cur.n++;
        last = e.ts;
        cur.end = last + gap;
      } else {
        if (cur) out.push(cur);
        cur = { key, start: e.ts, end: e.ts + gap, sum: e.v, n: 1 };
        last = e.ts;
      }
    }
    if (cur) out.push(cur);
  }
  return out;
}

const order = (a: Win, b: Win) => a.key - b.key || a.start - b.start || a.end - b.end || a.n - b.n || a.sum - b.sum;

async function run(args: Record<string, string>, parallelism = 3): Promise<{ windows: Win[]; late: number[] }> {
  const r = await runJob(fixture('time/windows.mjs'), { parallelism, args });
  const windows = ((r.collected?.out ?? []) as Win[]).map((w) => ({ key: w.key, start: w.start, end: w.end, sum: w.sum, n: w.n }));
  const late = ((r.collected?.late ?? []) as { i: number }[]).map((e) => e.i).sort((a, b) => a - b);
  return { windows: windows.sort(order), late };
}

const COUNT = 6000;
const KEYS = 7;

describe('event-time windows equal an independent reference', () => {
  for (const fn of ['reduce', 'aggregate', 'process']) {
    it(`tumbling, ${fn}, no late data (disorder within the bound)`, async () => {
      const evs = events(COUNT, KEYS, 30);
      const ref = referenceFixed(evs, 30, 100, 100, 0);
      assert.equal(ref.late.length, 0);
      const got = await run({ count: String(COUNT), keys: String(KEYS), disorder: '30', bound: '30', kind: 'tumbling', size: '100', fn });
      assert.deepEqual(got.windows, ref.windows.sort(order));
      assert.deepEqual(got.late, []);
    });
  }

  for (const lateness of [0, 40]) {
    it(`tumbling with disorder beyond the bound, allowed lateness ${lateness}: late firings and the late side output`, async () => {
      const evs = events(COUNT, KEYS, 200);
      const ref = referenceFixed(evs, 20, 100, 100, lateness);
      assert.ok(ref.late.length > 20, `the data has late records (${ref.late.length})`);
      const firings = new Set(ref.windows.map((w) => `${w.key}/${w.start}`)).size;
      if (lateness > 0) assert.ok(ref.windows.length > firings + 20, 'the data has late firings within the allowed lateness');
      else assert.equal(ref.windows.length, firings, 'without allowed lateness every window fires once');
      const got = await run({
        count: String(COUNT),
        keys: String(KEYS),
        disorder: '200',
        bound: '20',
        kind: 'tumbling',
        size: '100',
        lateness: String(lateness),
      });
      assert.deepEqual(
        got.late,
        ref.late.sort((a, b) => a - b),
      );
      assert.deepEqual(got.windows, ref.windows.sort(order));
    });

    it(`sliding (size 100, slide 30), aggregate, allowed lateness ${lateness}`, async () => {
      const evs = events(COUNT, KEYS, 250);
      const ref = referenceFixed(evs, 20, 100, 30, lateness);
      assert.ok(ref.late.length > 5, `the data has late records (${ref.late.length})`);
      const got = await run({
        count: String(COUNT),
        keys: String(KEYS),
        disorder: '250',
        bound: '20',
        kind: 'sliding',
        size: '100',
        slide: '30',
        lateness: String(lateness),
        fn: 'aggregate',
      });
      assert.deepEqual(
        got.late,
        ref.late.sort((a, b) => a - b),
      );
      assert.deepEqual(got.windows, ref.windows.sort(order));
    });
  }

  for (const fn of ['aggregate', 'process']) {
    it(`session windows (gap 150), ${fn}`, async () => {
      const evs = events(COUNT, KEYS, 30);
      const ref = referenceSessions(evs, 150);
      assert.ok(ref.length >= (COUNT / 100) * KEYS * 0.9, 'sessions split at the pauses');
      const got = await run({ count: String(COUNT), keys: String(KEYS), disorder: '30', bound: '30', kind: 'session', gap: '150', fn });
      assert.deepEqual(got.windows, ref.sort(order));
      assert.deepEqual(got.late, []);
    });
  }

  it('periodic bounded-out-of-orderness watermarks from 2 source subtasks: complete windows, nothing late', async () => {
    const evs = events(COUNT, KEYS, 30);
    const ref = referenceFixed(evs, 30, 100, 100, 0);
    const got = await run(
      {
        count: String(COUNT),
        keys: String(KEYS),
        disorder: '30',
        bound: '30',
        kind: 'tumbling',
        size: '100',
        watermarks: 'periodic',
        interval: '5',
      },
      2,
    );
    assert.deepEqual(got.windows, ref.windows.sort(order));
    assert.deepEqual(got.late, []);
  });
});
