// test-lane: pair
// Randomized windows against Flink's documented semantics (WindowOperator, MergingWindowSet,
// EventTimeTrigger), written out here without eddy's assigners or merging code:
//
//   - the watermark a record sees is fixed by the data: the source emits a watermark exactly
//     where the generated list holds a watermark item;
//   - a record joins each of its windows unless that window is late (maxTimestamp + allowed
//     lateness <= watermark); a record with no window left goes to the late side output;
//   - session windows start as [ts, ts + gap) and merge with every session they overlap or
//     touch; a session that would be late on its own is dropped;
//   - a window fires once when the watermark reaches its maxTimestamp (end - 1), and again
//     for every record added while it is within the allowed lateness; it is gone, with its
//     contents and timers, once the watermark reaches maxTimestamp + allowed lateness.
//
// Every window kind, lateness 0 and > 0, parallelism 1 and 3. After the job, when every
// window has fired and expired, the final checkpoint holds no keyed window state and no timer.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runJob } from '../../core/index.js';
import { fixture } from '../helpers/paths.js';
import { prng } from '../helpers/prng.js';
import { keyedEntriesByTable } from '../helpers/keyed-state-entries.js';

export type Item = { i: number; key: number; v: number; ts: number } | { wm: number };
export interface Fired {
  key: number;
  start: number;
  end: number;
  n: number;
  sum: number;
  ids?: number[];
}
export type Kind = 'tumbling' | 'sliding' | 'session';
export interface Shape {
  kind: Kind;
  size: number;
  slide: number;
  gap: number;
  lateness: number;
  /** Window starts are offset + k·slide (0 unless given). */
  offset?: number;
}

/** Events in rough time order with jitter, pauses, stragglers far behind, and watermarks now and then. */
export function scenario(seed: number, count: number, keys: number): Item[] {
  const r = prng(seed);
  const items: Item[] = [];
  let clock = 1000;
  let max = -Infinity;
  for (let i = 0; i < count; i++) {
    clock += Math.floor(r() * 30);
    if (r() < 0.03) clock += 200 + Math.floor(r() * 600); // a pause: sessions end
    let ts = clock - Math.floor(r() * 40);
    if (r() < 0.06) ts = clock - Math.floor(r() * 400); // a straggler: late or within lateness
    items.push({ i, key: Math.floor(r() * keys), v: Math.floor(r() * 1000), ts });
    max = Math.max(max, ts);
    if (r() < 0.3) items.push({ wm: max - Math.floor(r() * 60) }); // not always increasing: older ones change nothing
  }
  return items;
}

/** Starts of the windows [start, start + size), start = offset + a multiple of slide, that hold ts. */
function windowStarts(ts: number, size: number, slide: number, offset: number): number[] {
  const out: number[] = [];
  for (let start = ts - ((((ts - offset) % slide) + slide) % slide); start > ts - size; start -= slide) out.push(start);
  return out;
}

/** Fired windows (contents ids sorted) and late record ids, by the rules in the header. Key -1 runs every record through one key (windowAll). */
export function reference(items: Item[], s: Shape, oneKey = false): { fired: Fired[]; late: number[] } {
  interface W {
    start: number;
    end: number;
    ids: number[];
    sum: number;
  }
  const byKey = new Map<number, W[]>();
  const fired: Fired[] = [];
  const late: number[] = [];
  let wm = -Infinity;
  const emit = (key: number, w: W) =>
    fired.push({ key, start: w.start, end: w.end, n: w.ids.length, sum: w.sum, ids: [...w.ids].sort((a, b) => a - b) });
  const advance = (to: number) => {
    if (to <= wm) return;
    const before = wm;
    wm = to;
    for (const [key, list] of byKey) {
      for (const w of list) if (before < w.end - 1 && w.end - 1 <= wm) emit(key, w);
      byKey.set(
        key,
        list.filter((w) => w.end - 1 + s.lateness > wm),
      );
    }
  };
  for (const item of items) {
    if ('wm' in item) {
      advance(item.wm);
      continue;
    }
    const key = oneKey ? -1 : item.key;
    const list = byKey.get(key) ?? [];
    byKey.set(key, list);
    if (s.kind === 'session') {
      let start = item.ts;
      let end = item.ts + s.gap;
      const touching = list.filter((w) => w.start <= end && w.end >= start);
      for (const w of touching) {
        start = Math.min(start, w.start);
        end = Math.max(end, w.end);
      }
      if (touching.length === 0 && end - 1 + s.lateness <= wm) {
        late.push(item.i);
        continue;
      }
      const merged: W = { start, end, ids: touching.flatMap((w) => w.ids), sum: touching.reduce((n, w) => n + w.sum, 0) };
      merged.ids.push(item.i);
      merged.sum += item.v;
      byKey.set(key, [...list.filter((w) => !touching.includes(w)), merged]);
      if (end - 1 <= wm) emit(key, merged);
      continue;
    }
    const size = s.size;
    const slide = s.kind === 'tumbling' ? s.size : s.slide;
    let added = false;
    for (const start of windowStarts(item.ts, size, slide, s.offset ?? 0)) {
      const end = start + size;
      if (end - 1 + s.lateness <= wm) continue;
      added = true;
      let w = list.find((x) => x.start === start);
      if (!w) list.push((w = { start, end, ids: [], sum: 0 }));
      w.ids.push(item.i);
      w.sum += item.v;
      if (end - 1 <= wm) emit(key, w);
    }
    if (!added) late.push(item.i);
  }
  advance(Infinity);
  return { fired, late };
}

export const orderFired = (a: Fired, b: Fired) => a.key - b.key || a.start - b.start || a.end - b.end || a.n - b.n || a.sum - b.sum;

export function comparable(fired: Fired[], withIds: boolean): Fired[] {
  return fired
    .map((f) => ({ key: f.key, start: f.start, end: f.end, n: f.n, sum: f.sum, ...(withIds ? { ids: f.ids } : {}) }))
    .sort(orderFired);
}

const COUNT = 700;
const FNS = ['reduce', 'aggregate', 'process'] as const;

/** Runs the job over `items` with checkpoints on; compares its windows and late records with the reference, then the final checkpoint's window state with nothing. */
async function check(
  shape: Shape,
  seed: number,
  fn: (typeof FNS)[number],
  parallelism: number,
  all: boolean,
  extra: Record<string, string> = {},
): Promise<void> {
  const items = scenario(seed, COUNT, 4);
  const ref = reference(items, shape, all);
  assert.ok(ref.late.length > 0, 'the data has late records');
  const dir = mkdtempSync(join(tmpdir(), 'eddy-win-rand-'));
  try {
    const input = join(dir, 'items.json');
    writeFileSync(input, JSON.stringify(items));
    const chk = join(dir, 'chk');
    const { kind, size, slide, gap, lateness } = shape;
    const r = await runJob(fixture('time/windows-random.mjs'), {
      parallelism,
      mode: 'exactly-once',
      checkpointIntervalMs: 10_000,
      checkpointDir: chk,
      // What the windows leave at the end of input is read from the final checkpoint.
      keepFinalKeyedState: true,
      args: {
        input,
        kind,
        size: String(size),
        slide: String(slide),
        gap: String(gap),
        lateness: String(lateness),
        offset: String(shape.offset ?? 0),
        fn,
        all: all ? '1' : '',
        ...extra,
      },
    });
    assert.deepEqual(
      (r.collected?.late as number[]).sort((a, b) => a - b),
      ref.late.sort((a, b) => a - b),
    );
    assert.deepEqual(comparable((r.collected?.out ?? []) as Fired[], fn === 'process'), comparable(ref.fired, fn === 'process'));
    const state = await keyedEntriesByTable(chk, 'windows');
    assert.deepEqual(state.entries, {}, `keyed state left in checkpoint ${state.checkpointId} (${state.bytes} bytes)`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('randomized windows equal a reference of Flink semantics, and leave no state behind', () => {
  let n = 0;
  for (const kind of ['tumbling', 'sliding', 'session'] as Kind[]) {
    for (const lateness of [0, 90]) {
      for (const parallelism of [1, 3]) {
        const seed = 1000 + n;
        const fn = FNS[n++ % 3];
        it(`${kind}, ${fn}, lateness ${lateness}, parallelism ${parallelism} (seed ${seed})`, () =>
          check({ kind, size: 100, slide: 30, gap: 45, lateness }, seed, fn, parallelism, false));
      }
    }
  }
});

// Without allowed lateness, tumbling and sliding windows with reduce or aggregate run sliced
// (operators/sliced-window.ts); the cases above cover aggregate; these the other variants.
describe('randomized sliced windows (reduce, and aggregate without merge)', () => {
  it('sliding (100 / 30), reduce, lateness 0, parallelism 3: slices combined by the reduce function', () =>
    check({ kind: 'sliding', size: 100, slide: 30, gap: 0, lateness: 0 }, 3001, 'reduce', 3, false));
  it('sliding (100 / 25), aggregate without merge, lateness 0, parallelism 2: one pane per window', () =>
    check({ kind: 'sliding', size: 100, slide: 25, gap: 0, lateness: 0 }, 3002, 'aggregate', 2, false, { merge: '0' }));
  it('tumbling (70, offset 13), reduce, lateness 0, parallelism 1', () =>
    check({ kind: 'tumbling', size: 70, slide: 70, gap: 0, lateness: 0, offset: 13 }, 3003, 'reduce', 1, false));
  it('sliding (100 / 40, offset 7, slices of 20), aggregate, lateness 0, parallelism 3', () =>
    check({ kind: 'sliding', size: 100, slide: 40, gap: 0, lateness: 0, offset: 7 }, 3004, 'aggregate', 3, false));
  it('sliding (100 / 40, offset 7), aggregate, lateness 50 (general operator), parallelism 1', () =>
    check({ kind: 'sliding', size: 100, slide: 40, gap: 0, lateness: 50, offset: 7 }, 3005, 'aggregate', 1, false));
});

describe('randomized windowAll (one window operator for the whole stream) equals the same reference with one key', () => {
  let n = 0;
  for (const kind of ['tumbling', 'sliding', 'session'] as Kind[]) {
    const seed = 2000 + n;
    const fn = FNS[n++ % 3];
    it(`${kind}, ${fn}, lateness 90, job parallelism 3 (seed ${seed})`, () =>
      check({ kind, size: 100, slide: 30, gap: 20, lateness: 90 }, seed, fn, 3, true));
  }
});
