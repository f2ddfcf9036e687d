// test-lane: pair
/**
 * The join-back's generated loops (core/sql/join-back-step.ts), which read the rows of X in
 * place instead of building each side's projection and the joined pair. What they must give is
 * written out here from what the calcs and the inner join do: the aggregate side sees each row
 * of X as its projection (a plain copy of a column, NULL when X lacks it); a joined row has the
 * pair's columns in the join's order, X's side from X's row through the projection and the
 * other side from the aggregate's row, and is emitted when the condition over it is TRUE (a
 * NULL comparison is not). Every emitted row is its own object: the loop's scratch row is
 * overwritten by the rows after it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { feedStep, joinStep } from '../../core/sql/join-back-step.js';
import type { PairColumn } from '../../core/sql/row-builder.js';

type Row = Record<string, unknown>;

/** Rows of X as the counting window emits them (group column $g0, count $a0), one without its count. */
const X: Row[] = [
  { $g0: 1, window_start: 0, window_end: 10, $a0: 4 },
  { $g0: 2, window_start: 0, window_end: 10, $a0: 7 },
  { $g0: 3, window_start: 0, window_end: 10 },
  { $g0: 4, window_start: 0, window_end: 10, $a0: 7 },
  { $g0: 5, window_start: 0, window_end: 10, $a0: 6 },
];

/** The join side's projection: `auction, num, starttime, endtime` copied from X. */
const X_SIDE = [
  ['auction', '$g0'],
  ['num', '$a0'],
  ['starttime', 'window_start'],
  ['endtime', 'window_end'],
] as const;

/** `num >= maxn` as SQL: NULL on either side is not TRUE. */
const atLeastMax = (r: Row): boolean => r.num !== null && r.maxn !== null && (r.num as number) >= (r.maxn as number);

const collector = () => {
  const rows: Row[] = [];
  return { rows, out: { collect: (r: Row) => void rows.push(r) } };
};

describe('join-back step', () => {
  it('feeds the aggregate each row of X as its projection, NULL for a missing column', () => {
    const seen: Row[] = [];
    const feed = feedStep(
      [
        ['num', '$a0'],
        ['starttime', 'window_start'],
        ['endtime', 'window_end'],
      ],
      (row, acc) => {
        seen.push({ ...row });
        return (acc as number) + 1;
      },
    );
    assert.equal(feed(X, 10), 15);
    assert.deepEqual(
      seen,
      X.map((x) => ({ num: x.$a0 ?? null, starttime: x.window_start, endtime: x.window_end })),
    );
  });

  it('feeds X itself when the aggregate side has no calcs', () => {
    const seen: Row[] = [];
    feedStep(undefined, (row, acc) => (seen.push(row), acc))(X, null);
    assert.deepEqual(seen, X);
  });

  for (const xSide of [0, 1] as const) {
    it(`joins X ${xSide === 0 ? 'on the left' : 'on the right'} with the aggregate row and keeps the rows the condition accepts`, () => {
      const agg: Row = { maxn: 7, starttime: 0, endtime: 10 };
      const xCols = X_SIDE.map(([k]): PairColumn => [k, xSide, k]);
      const aCols = (['maxn', 'starttime', 'endtime'] as const).map((k): PairColumn => [
        k === 'maxn' ? k : `${k}$1`,
        xSide === 0 ? 1 : 0,
        k,
      ]);
      const pick = xSide === 0 ? [...xCols, ...aCols] : [...aCols, ...xCols];
      const { rows, out } = collector();
      joinStep(pick, xSide, X_SIDE, atLeastMax)(X, agg, out);
      const joined = (x: Row): Row => {
        const side: Row = Object.fromEntries(X_SIDE.map(([k, from]) => [k, x[from] ?? null]));
        return Object.fromEntries(pick.map(([k, s, from]) => [k, s === xSide ? side[from] : agg[from]]));
      };
      const expected = X.map(joined).filter(atLeastMax);
      assert.deepEqual(rows, expected);
      assert.equal(rows.length, 2, 'auctions 2 and 4 share the maximum');
      for (const r of rows)
        assert.deepEqual(
          Object.keys(r),
          pick.map(([k]) => k),
          "the pair's column order",
        );
      assert.notEqual(rows[0], rows[1], 'each emitted row is its own object');
    });
  }

  it("reads window_start as the group's ws where X's rows leave it out", () => {
    // X's rows as the narrowed window aggregate emits them; every one of them is in the window [0, 10).
    const narrowed = X.map(({ window_start: _, ...rest }) => rest);
    const seen: Row[] = [];
    const feed = feedStep(
      [
        ['num', '$a0'],
        ['starttime', 'window_start'],
        ['endtime', 'window_end'],
      ],
      (row, acc) => (seen.push({ ...row }), acc),
      'window_start',
    );
    feed(narrowed, null, 0);
    assert.deepEqual(
      seen,
      X.map((x) => ({ num: x.$a0 ?? null, starttime: 0, endtime: 10 })),
    );
    const agg: Row = { maxn: 7 };
    const pick: PairColumn[] = [...X_SIDE.map(([k]): PairColumn => [k, 0, k]), ['maxn', 1, 'maxn']];
    const { rows, out } = collector();
    joinStep(pick, 0, X_SIDE, atLeastMax, 'window_start')(narrowed, agg, out, 0);
    assert.deepEqual(rows, [
      { auction: 2, num: 7, starttime: 0, endtime: 10, maxn: 7 },
      { auction: 4, num: 7, starttime: 0, endtime: 10, maxn: 7 },
    ]);
    // X read as it is (no calcs) has no place to put a derived column.
    assert.throws(() => feedStep(undefined, (_r, acc) => acc, 'window_start'));
  });

  it('without a condition emits every row; X read as it is when the join side has no calcs', () => {
    const agg: Row = { m: 1 };
    const pick: PairColumn[] = [
      ['$g0', 0, '$g0'],
      ['$a0', 0, '$a0'],
      ['m', 1, 'm'],
    ];
    const { rows, out } = collector();
    joinStep(pick, 0, undefined, undefined)(X, agg, out);
    // X's own row: a missing column stays as the row has it (undefined), as the join's combine copies it.
    assert.deepEqual(
      rows,
      X.map((x) => ({ $g0: x.$g0, $a0: x.$a0, m: 1 })),
    );
  });
});
