// test-lane: pair
// Watermarks and idleness down a chain that forks (a tree of operators in one task), on the
// task's clock alone: each branch gets what reaches its root, a timestamp assigner stops
// upstream watermarks on its own branch only, an operator that holds watermarks sends them on
// itself (a nested call) and its children see each once, and every operator with task outputs
// sends a watermark there only when it advanced there.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TaskTime, type WatermarkAware } from '../../core/time/task-time.js';

class Op implements WatermarkAware {
  readonly seen: number[] = [];
  constructor(
    readonly generatesWatermarks = false,
    readonly holdsWatermarks = false,
    private readonly onWatermark?: (wm: number) => void,
  ) {}
  processWatermark(wm: number): void {
    this.seen.push(wm);
    this.onWatermark?.(wm);
  }
}

/**
 * Positions: the source (-1, with outputs) feeds a (0) → b (1, outputs); an assigner g (2,
 * outputs) → c (3, a leaf without outputs); a holder h (4) → d (5, outputs).
 */
function tree() {
  const time = new TaskTime();
  const sent: Record<string, string[]> = { source: [], b: [], g: [], d: [] };
  const out = (name: string) => (wm: number, idle: boolean) => void sent[name].push(idle ? `idle@${wm}` : String(wm));
  const a = new Op();
  const b = new Op();
  const g = new Op(true);
  const c = new Op();
  // The holder sends every watermark on at once, from inside processWatermark (as async I/O does with nothing pending).
  const h = new Op(false, true, (wm) => time.watermark(4, wm));
  const d = new Op();
  time.attach({
    operators: [a, b, g, c, h, d],
    parents: [-1, 0, -1, 2, -1, 4],
    outputs: [out('source'), undefined, out('b'), out('g'), undefined, undefined, out('d')],
  });
  return { time, sent, ops: { a, b, g, c, h, d } };
}

describe('watermarks down a chain that forks', () => {
  it('reach every branch once; an assigner stops them on its branch only; outputs only advance', () => {
    const { time, sent, ops } = tree();
    time.watermark(-1, 10);
    assert.deepEqual(
      Object.fromEntries(Object.entries(ops).map(([k, op]) => [k, op.seen])),
      { a: [10], b: [10], g: [], c: [], h: [10], d: [10] },
      'the assigner branch does not see upstream watermarks; the holder’s child sees its one nested send once',
    );
    assert.deepEqual(sent, { source: ['10'], b: ['10'], g: [], d: ['10'] });
    assert.equal(time.outputWatermark, -Infinity, 'the assigner’s branch has sent nothing yet');

    time.watermark(2, 7); // the assigner's own watermark: its branch only
    assert.deepEqual(ops.c.seen, [7]);
    assert.deepEqual(ops.a.seen, [10]);
    assert.deepEqual(sent.g, ['7']);
    assert.equal(time.outputWatermark, 7, 'the lowest of what the chain’s ends sent');

    time.watermark(-1, 10); // not an advance: nothing new leaves the task
    assert.deepEqual(sent, { source: ['10'], b: ['10'], g: ['7'], d: ['10'] });

    time.watermark(-1, Infinity); // the end of input passes the assigner too
    assert.deepEqual(ops.g.seen, [Infinity]);
    assert.deepEqual(ops.c.seen, [7, Infinity]);
    assert.deepEqual(sent, { source: ['10', 'Infinity'], b: ['10', 'Infinity'], g: ['7', 'Infinity'], d: ['10', 'Infinity'] });
  });

  it('idleness goes to every output below the idle input except past an assigner, once', () => {
    const { time, sent } = tree();
    time.watermark(-1, 3);
    time.idle(-1);
    time.idle(-1);
    assert.deepEqual(sent, { source: ['3', 'idle@3'], b: ['3', 'idle@3'], g: [], d: ['3', 'idle@3'] });
    time.idle(2); // the assigner went idle: its own output only
    assert.deepEqual(sent.g, ['idle@-Infinity']);
    time.watermark(-1, 3); // active again at the same watermark: told, although it did not advance
    assert.deepEqual(sent, { source: ['3', 'idle@3', '3'], b: ['3', 'idle@3', '3'], g: ['idle@-Infinity'], d: ['3', 'idle@3', '3'] });
  });
});
