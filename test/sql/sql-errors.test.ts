// test-lane: pair
/**
 * Bad SQL gets one line with the line and column, what is wrong or expected, and a code
 * (SQL_INVALID, UNSUPPORTED); through the CLI that is one line on stderr without a stack.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { EddyError } from '../../core/failure.js';
import { cliPath } from '../helpers/paths.js';
import { sqlRefusal } from '../helpers/sql-refusal.js';

const DDL = `CREATE TABLE t (id BIGINT, name VARCHAR, price INT, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND) WITH ('connector' = 'filesystem', 'path' = '/nonexistent.jsonl', 'format' = 'json');
CREATE TABLE o (id BIGINT, n BIGINT) WITH ('connector' = 'filesystem', 'path' = '/tmp/never', 'format' = 'json');
`;

function failure(sql: string): EddyError {
  return sqlRefusal(DDL + sql);
}

describe('bad SQL', () => {
  it('a syntax error names the line, the column and what was expected', () => {
    const e = failure('SELECT id name, FROM t;');
    assert.equal(e.code, 'SQL_INVALID');
    assert.match(e.message, /^SQL line 4, column 17: expected an expression but found 'FROM'$/);
  });

  it('an unknown table and an unknown column are named, with what exists', () => {
    const t = failure('INSERT INTO o SELECT id, 1 FROM nope;');
    assert.match(t.message, /^SQL line 4, column 33: table or view 'nope' not found \(known: t, o\)$/);
    const c = failure('INSERT INTO o SELECT id, prize FROM t;');
    assert.equal(c.code, 'SQL_INVALID');
    assert.match(c.message, /^SQL line 4, column 26: column 'prize' not found \(available: .*price.*\)$/);
  });

  it('type mismatches: SUM over a VARCHAR, VARCHAR compared with INT', () => {
    const s = failure(`INSERT INTO o SELECT id, SUM(name) FROM t GROUP BY id;`);
    assert.match(s.message, /^SQL line 4, column 30: SUM expects a numeric argument, got VARCHAR$/);
    const c = failure(`INSERT INTO o SELECT id, price FROM t\nWHERE name = 3;`);
    assert.match(c.message, /^SQL line 5, column 12: cannot compare VARCHAR with INT/);
  });

  it('an unsupported feature says which', () => {
    const e = failure(`INSERT INTO o SELECT id, price FROM t ORDER BY id;`);
    assert.equal(e.code, 'UNSUPPORTED');
    assert.match(e.message, /^SQL line 4, column 39: ORDER BY on a streaming query .* is not supported by eddy's SQL yet$/);
    const p = failure(`INSERT INTO o SELECT id, NOW() FROM t;`);
    assert.match(p.message, /^SQL line 4, column 26: NOW\(\) .* is not supported/);
  });

  it('an updating query into an append-only sink is refused with why and what to do', () => {
    const e = failure(`INSERT INTO o SELECT id, COUNT(*) FROM t GROUP BY id;`);
    assert.equal(e.code, 'SQL_INVALID');
    assert.match(
      e.message,
      /^SQL line 4, column 1: table 'o' .* takes only inserts, but the query produces updates and deletes \(the non-windowed GROUP BY at line 4, column 15\); .*PRIMARY KEY/,
    );
  });

  it('eddy sql prints one line on stderr, with the code and no stack', () => {
    const dir = mkdtempSync(join(tmpdir(), 'eddy-sql-err-'));
    try {
      writeFileSync(join(dir, 'bad.sql'), `${DDL}INSERT INTO o SELECT id, COUNT(*) FROM t GROUP BY id HAVING name > 1;`);
      const r = spawnSync(process.execPath, [cliPath, 'sql', join(dir, 'bad.sql')], { encoding: 'utf8', timeout: 30_000 });
      assert.equal(r.status, 1);
      const lines = r.stderr.trimEnd().split('\n');
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0]!, /^eddy: \[SQL_INVALID\] SQL line 4, column \d+: /);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
