// A SQL statement the planner must refuse: the error is an EddyError of one line (what the
// CLI prints), returned so the test can check its code and wording.
import assert from 'node:assert/strict';
import { StreamExecutionEnvironment } from '../../core/index.js';
import { EddyError } from '../../core/failure.js';
import { SqlSession } from '../../core/sql/session.js';

/** Runs `sql` in a fresh session (files resolved from `baseDir`) and returns the one-line error it must raise. */
export function sqlRefusal(sql: string, baseDir?: string): EddyError {
  try {
    new SqlSession(new StreamExecutionEnvironment({}), baseDir).execute(sql);
  } catch (err) {
    assert.ok(err instanceof EddyError, `expected an EddyError, got ${String(err)}`);
    assert.equal(err.message.split('\n').length, 1, 'one line');
    return err;
  }
  assert.fail('expected the statement to be refused');
}
