// test-lane: pair
/**
 * A regular join's append-only side goes in as its plain rows: the side's calc is one operator
 * emitting the rows it builds (no `+I` change wrapped around each), and a second reader of the
 * same view in the statement (a UNION ALL branch) reads that same operator. Both outputs are
 * compared with a reference written here.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StreamExecutionEnvironment } from '../../core/index.js';
import { SqlSession } from '../../core/sql/index.js';
import { prng } from '../helpers/prng.js';
import { assertSqlCases, tablesInTempDir, type SqlCase } from '../helpers/sql-cases.js';

interface L {
  id: number;
  k: number;
  v: number;
}
interface R {
  rid: number;
  k: number;
}

const DDL = (dir: string): string => `
CREATE TABLE L (id BIGINT, k BIGINT, v BIGINT) WITH ('connector' = 'filesystem', 'path' = '${dir}/l.jsonl', 'format' = 'json');
CREATE TABLE R (rid BIGINT, k BIGINT) WITH ('connector' = 'filesystem', 'path' = '${dir}/r.jsonl', 'format' = 'json');
CREATE VIEW LV AS SELECT id, k, v * 2 AS w FROM L WHERE v <> 3;
`;
const JOIN = 'SELECT LV.id, R.rid AS k, LV.w FROM LV JOIN R ON LV.k = R.k';
// The second branch reads the view's own calc (no projection of its own).
const BOTH = `${JOIN} UNION ALL SELECT * FROM LV`;

describe('SQL join side calc', () => {
  const fx = tablesInTempDir(
    'eddy-join-side-',
    () => {
      const rnd = prng(17);
      const ls: L[] = Array.from({ length: 120 }, (_, id) => ({ id, k: Math.floor(rnd() * 9), v: Math.floor(rnd() * 6) }));
      const rs: R[] = Array.from({ length: 40 }, (_, rid) => ({ rid: 1000 + rid, k: Math.floor(rnd() * 12) }));
      return { ls, rs };
    },
    (d) => ({ 'l.jsonl': d.ls, 'r.jsonl': d.rs }),
  );

  /** The view's rows, and its join with R, from SQL's meaning. */
  const reference = (): { view: Array<{ id: number; k: number; w: number }>; joined: Array<{ id: number; k: number; w: number }> } => {
    const lv = fx.data.ls.filter((l) => l.v !== 3).map((l) => ({ id: l.id, k: l.k, w: l.v * 2 }));
    const joined = lv.flatMap((l) => fx.data.rs.filter((r) => r.k === l.k).map((r) => ({ id: l.id, k: r.rid, w: l.w })));
    return { view: lv, joined };
  };

  it('EXPLAIN: the left side is one calc of plain rows, which the join takes as rows and projects itself; the UNION ALL branch reads the same calc', () => {
    const s = new SqlSession(new StreamExecutionEnvironment({}));
    s.execute(DDL('/nonexistent'));
    s.execute("CREATE TABLE o (id BIGINT, k BIGINT, w BIGINT) WITH ('connector' = 'blackhole');");
    const plan = (q: string): string[] => {
      const r = s.execute(`EXPLAIN INSERT INTO o ${q};`).find((x) => x.kind === 'explain');
      assert.ok(r?.kind === 'explain');
      return r.plan.split('\n');
    };
    const join = plan(JOIN);
    assert.ok(!join.some((l) => /changes/.test(l.replace(/; left as .*$/, ''))), join.join('\n'));
    const lefts = join.filter((l) => /where \(v <> 3\)/.test(l));
    assert.equal(lefts.length, 1, join.join('\n'));
    assert.match(lefts[0]!, /\scalc\s+where \(v <> 3\); project id, k, w$/, join.join('\n'));
    // The SELECT's projection (plain columns) is the join's own output row: no calc after it.
    assert.match(
      join.join('\n'),
      /\sjoin\s+inner join on \(LV\.k = R\.k\) \(append-only\); left as rows, right as rows; project id, k, w$/m,
    );
    assert.equal(join.filter((l) => /\scalc\s/.test(l)).length, 3, join.join('\n'));
    const both = plan(BOTH);
    assert.equal(both.filter((l) => /where \(v <> 3\)/.test(l)).length, 1, both.join('\n'));
  });

  for (const parallelism of [2]) {
    it(`the join and the view read again give the reference's rows (parallelism ${parallelism})`, async () => {
      const ref = reference();
      assert.ok(ref.joined.length > 20 && ref.view.length < fx.data.ls.length, 'the reference joins rows and the view drops some');
      const cases: SqlCase[] = [
        { name: 'joined', cols: 'id BIGINT, k BIGINT, w BIGINT', sql: JOIN, expected: ref.joined },
        { name: 'both', cols: 'id BIGINT, k BIGINT, w BIGINT', sql: BOTH, expected: [...ref.joined, ...ref.view] },
      ];
      const collected = await assertSqlCases(fx.dir, DDL(fx.dir), cases, parallelism);
      // Append-only: plain rows, not insert changes (which the helper would also accept).
      for (const row of [...collected['sql-joined-sink-1']!, ...collected['sql-both-sink-1']!])
        assert.deepEqual(Object.keys(row as object), ['id', 'k', 'w']);
    });
  }
});
