// `eddy sql` reading statements from a pipe (not a terminal), the script arriving in pieces as
// it does from a slow producer: a statement cut mid-word between two writes must run whole, and
// text that arrives while a query runs is the rest of the script, not keys (a 'q' in it once
// stopped the query and the text was lost).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { nexmarkDdl } from '../helpers/nexmark-sql-ddl.js';
import { generate } from '../helpers/nexmark-reference.js';
import { cliPath } from '../helpers/paths.js';

const EVENTS = 2000;

describe('eddy sql from a pipe', () => {
  it('runs every statement of a script written in pieces, including while a query runs', { timeout: 60_000 }, async () => {
    const child = spawn(process.execPath, [cliPath, 'sql'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
    try {
      // Paced at 1000 events per second, the query runs for about two seconds.
      child.stdin.write(`${nexmarkDdl(EVENTS, 1000, "\n    'emit.rate' = '1000',")}\nCREATE VIEW v1 AS SELECT category FROM auc`);
      await pause(400);
      child.stdin.write('tion;\nSELECT COUNT(*) AS n FROM bid;\n');
      await pause(400);
      child.stdin.write('CREATE VIEW quick AS SELECT category AS q FROM v');
      await pause(400);
      child.stdin.write('1;\nSHOW TABLES;\n');
      child.stdin.end();
      // An unref'd timer: a pending one kept this file's process alive 43 s after the test.
      const limit = new Promise((r) => setTimeout(() => r('still running'), 45_000).unref());
      assert.equal(await Promise.race([exited, limit]), 0, out);
    } finally {
      child.kill('SIGKILL');
    }
    assert.doesNotMatch(out, /\[ERROR\]/);
    assert.doesNotMatch(out, /eddy sql> /, 'no prompt is written to a pipe');
    assert.match(out, /^\[INFO\] View 'v1' created\.$/m);
    assert.match(out, /^\[INFO\] View 'quick' created\.$/m);
    assert.match(out, /^quick$/m, 'SHOW TABLES ran after the query');
    // The query ran to its end: the count of bids the generator makes, computed here.
    const bids = generate(EVENTS).bids.length;
    assert.match(out, new RegExp(`^ *${bids} *$`, 'm'), `the final table holds n = ${bids}:\n${out}`);
    assert.match(out, /· finished$/m);
  });
});
