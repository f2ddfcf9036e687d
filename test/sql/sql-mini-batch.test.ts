// test-lane: pair
// SQL mini-batch settings (Flink's table.exec.mini-batch.*), planning only: where they come from
// (SET, --arg key=value, a configuration file, in that order of strength), what EXPLAIN says of
// the updating operators with and without them, and one clear line for each bad setting. What
// mini-batch does to the results is in changelog-semantics, changelog-emission and nexmark-sql.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { StreamExecutionEnvironment } from '../../core/api/environment.js';
import { EddyError } from '../../core/failure.js';
import { SqlSession } from '../../core/sql/session.js';

const DDL = `CREATE TABLE bids (auction BIGINT, price BIGINT) WITH ('connector' = 'datagen', 'number-of-rows' = '10');`;
const GROUP = `EXPLAIN SELECT auction, MAX(price) AS hi FROM bids GROUP BY auction;`;
const TOP = `EXPLAIN SELECT * FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY auction ORDER BY price DESC) AS rn FROM bids) WHERE rn <= 3;`;

/** The EXPLAIN lines of the GROUP BY and the Top-N after `script`, with job args `args`. */
function plans(script: string, args: Record<string, string> = {}): string[] {
  const results = new SqlSession(new StreamExecutionEnvironment(args)).execute(`${DDL}\n${script}\n${GROUP}\n${TOP}`);
  return results.flatMap((r) => (r.kind === 'explain' ? r.plan.split('\n').filter((l) => / (group|rank) /.test(l)) : []));
}

/** The EddyError `fn` throws: its code and its one-line message. */
function failure(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof EddyError, `an EddyError, got ${String(err)}`);
    assert.ok(!err.message.includes('\n'), `one line: ${err.message}`);
    return { code: err.code, message: err.message };
  }
  assert.fail('expected a failure');
}

describe('SQL mini-batch settings', () => {
  const dir = mkdtempSync(join(tmpdir(), 'eddy-sql-mb-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('off by default; SET turns it on for the GROUP BY, never for the Top-N (as Flink: a rank runs per record), as EXPLAIN shows', () => {
    const off = plans('');
    assert.equal(off.length, 2);
    for (const line of off) assert.doesNotMatch(line, /mini-batch/);
    const [group, rank] = plans(
      `SET 'table.exec.mini-batch.enabled' = 'true'; SET 'table.exec.mini-batch.allow-latency' = '2 s'; SET 'table.exec.mini-batch.size' = '5000';`,
    );
    assert.match(group!, / group .*mini-batch 2000 ms \/ 5000 rows/);
    assert.match(rank!, / rank .*per record/);
    assert.doesNotMatch(rank!, /mini-batch/);
  });

  it('a select list that only copies columns is built by the operator itself: no calc after the GROUP BY or the rank', () => {
    // Into blackhole tables (print would add its formatting calc).
    const sinks = `CREATE TABLE g (auction BIGINT, hi BIGINT) WITH ('connector' = 'blackhole');
      CREATE TABLE t (auction BIGINT, price BIGINT, rn BIGINT) WITH ('connector' = 'blackhole');`;
    const explain = (q: string): string[] => {
      const [r] = new SqlSession(new StreamExecutionEnvironment({})).execute(`${DDL}\n${sinks}\n${q}`).filter((x) => x.kind === 'explain');
      assert.ok(r?.kind === 'explain');
      return r.plan.split('\n').map((l) => l.split(/\s+/)[1]!);
    };
    const into = (q: string, table: string): string => q.replace('EXPLAIN SELECT', `EXPLAIN INSERT INTO ${table} SELECT`);
    assert.deepEqual(explain(into(GROUP, 'g')), ['source', 'group', 'sink']);
    assert.deepEqual(explain(into(TOP, 't')), ['source', 'rank', 'sink']);
    // A computed column still needs its calc.
    assert.deepEqual(explain(into(GROUP.replace('MAX(price) AS hi', 'MAX(price) + 1 AS hi'), 'g')), ['source', 'group', 'calc', 'sink']);
  });

  it('a configuration file, then --arg key=value over it, then SET over both', () => {
    const conf = join(dir, 'conf.yaml');
    writeFileSync(
      conf,
      '# the reference\ntable.exec.mini-batch.enabled: true\ntable.exec.mini-batch.allow-latency: 2s\ntable.exec.mini-batch.size: 50000\n',
    );
    assert.match(plans('', { 'sql.conf': conf })[0]!, /mini-batch 2000 ms \/ 50000 rows/);
    assert.match(plans('', { 'sql.conf': conf, 'table.exec.mini-batch.size': '7' })[0]!, /mini-batch 2000 ms \/ 7 rows/);
    assert.doesNotMatch(plans(`SET 'table.exec.mini-batch.enabled' = 'false';`, { 'sql.conf': conf })[0]!, /mini-batch/);
  });

  it('bad settings: one line each, naming the setting and what it takes', () => {
    const set = failure(() => plans(`SET 'table.exec.mini-batch.enabled' = 'yes';`));
    assert.equal(set.code, 'SQL_INVALID');
    assert.match(set.message, /line 2, column 1: 'table.exec.mini-batch.enabled' must be 'true' or 'false', got 'yes'/);
    const half = failure(() => plans(`SET 'table.exec.mini-batch.enabled' = 'true'; SET 'table.exec.mini-batch.allow-latency' = '2 s';`));
    assert.equal(half.code, 'SQL_INVALID');
    assert.match(half.message, /'table.exec.mini-batch.size' is not set/);
    const size = failure(() => plans('', { 'table.exec.mini-batch.size': '-3' }));
    assert.equal(size.code, 'BAD_ARG');
    assert.match(size.message, /--arg table.exec.mini-batch.size=-3: .* must be a positive integer/);
    const latency = failure(() => plans(`SET 'table.exec.mini-batch.allow-latency' = 'soon';`));
    assert.match(latency.message, /must be a positive duration such as '2 s'/);
    const unknown = failure(() => plans(`SET 'table.optimizer.distinct-agg.split.enabled' = 'true';`));
    assert.equal(unknown.code, 'UNSUPPORTED');
    assert.match(unknown.message, /setting 'table.optimizer.distinct-agg.split.enabled' is not known/);
    const missing = failure(() => plans('', { 'sql.conf': join(dir, 'nope.yaml') }));
    assert.equal(missing.code, 'INPUT_NOT_FOUND');
    assert.match(missing.message, /nope.yaml' \(--arg sql.conf\) cannot be read \(ENOENT\)/);
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'table.exec.mini-batch.enabled: true\nthis line has no colon\n');
    const line = failure(() => plans('', { 'sql.conf': bad }));
    assert.equal(line.code, 'BAD_ARG');
    assert.match(line.message, /bad.yaml line 2: expected 'key: value', got 'this line has no colon'/);
  });
});
