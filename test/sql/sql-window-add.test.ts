// test-lane: pair
/**
 * A window aggregate's add step (core/sql/window-add.ts): each call's update generated inline.
 * Rows with NULLs, a FILTER and a call without an inline form (AVG, through the fallback) are
 * added one by one, and every state must be what SQL's aggregates give for those rows, written
 * out here from the rules: COUNT(*) counts rows, COUNT(x) the rows where x is not NULL, SUM,
 * MIN and MAX skip NULLs and are NULL over no value, FILTER (WHERE c) keeps the rows where c is
 * TRUE. The arguments come both as generated text and as plain closures.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { withJs } from '../../core/sql/codegen.js';
import { addStep, type AddableCall } from '../../core/sql/window-add.js';

type Row = Record<string, unknown>;
const ROWS: Row[] = [
  { x: 5, f: true },
  { x: null, f: true },
  { x: -2, f: false },
  { x: 9, f: null },
  { x: 7, f: true },
  { f: true }, // x absent: NULL
];

/** `row.x`, with source text (generated inline) or without (called as a closure). */
const xOf = (text: boolean) => {
  const fn = (row: Row): unknown => row.x ?? null;
  return text ? withJs(fn, (_b, r) => `(${r}["x"] ?? null)`) : fn;
};
const fOf = (text: boolean) => {
  const fn = (row: Row): boolean => row.f === true;
  return text ? withJs(fn, (_b, r) => `(${r}["f"] === true)`) : fn;
};

function initial(a: AddableCall): unknown {
  return a.kind === 'count*' || a.kind === 'count' ? 0 : a.kind === 'avg' ? [0, 0] : null;
}

describe('window aggregate add step', () => {
  for (const text of [true, false]) {
    it(`gives SQL's states over rows with NULLs and a FILTER (arguments ${text ? 'as generated text' : 'as closures'})`, () => {
      const x = { fn: xOf(text) };
      const calls: AddableCall[] = [
        { kind: 'count*' },
        { kind: 'count', arg: x },
        { kind: 'sum', arg: x },
        { kind: 'min', arg: x },
        { kind: 'max', arg: x },
        { kind: 'max', arg: x, filter: fOf(text) },
        { kind: 'count*', filter: fOf(text) },
        { kind: 'avg', arg: x },
      ];
      // AVG has no inline form: the fallback adds it (its own rule here: sum and count of non-NULLs).
      const fallback = (a: AddableCall, state: unknown, row: Row): unknown => {
        assert.equal(a.kind, 'avg');
        const v = a.arg!.fn(row);
        if (v === null) return state;
        const [s, c] = state as [number, number];
        return [s + (v as number), c + 1];
      };
      const add = addStep(calls, fallback);
      const states = calls.map(initial);
      for (const row of ROWS) add(row, states);
      // x over the rows: 5, NULL, -2, 9, 7, NULL; FILTER true on rows 1, 2, 5, 6 (x 5, NULL, 7, NULL).
      assert.deepEqual(states, [6, 4, 19, -2, 9, 7, 4, [19, 4]]);
    });
  }

  it('leaves every state as it is over no rows, and NULL-only rows keep SUM, MIN and MAX NULL', () => {
    const x = { fn: xOf(true) };
    const calls: AddableCall[] = [
      { kind: 'sum', arg: x },
      { kind: 'min', arg: x },
      { kind: 'max', arg: x },
      { kind: 'count', arg: x },
    ];
    const add = addStep(calls, () => assert.fail('no fallback call expected'));
    const states = calls.map(initial);
    add({ x: null }, states);
    add({}, states);
    assert.deepEqual(states, [null, null, null, 0]);
  });
});
